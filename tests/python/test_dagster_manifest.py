"""The Dagster definitions' dbt manifest when several processes import them at once.

pytest's workers each import `orchestration.definitions` while collecting; on a fresh clone
each found no manifest, and one read the file while another's `dbt parse` was still writing
it (a CI run failed collecting with "unexpected end of data"). The stand-in for dbt here
writes half its manifest and waits for the test's word to write the rest, so the second
process asks for the manifest while the first one's is half-written, every time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from waiting import wait_for

SLOW_DBT = textwrap.dedent("""\
    import os, sys, time
    from pathlib import Path
    target = Path(sys.argv[sys.argv.index("--target-path") + 1])
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "manifest.json", "w") as manifest:
        manifest.write('{"nodes": ')
        manifest.flush()
        release = Path(os.environ["RELEASE_THE_MANIFEST"])
        deadline = time.monotonic() + 60
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        manifest.write('{}}')
    """)

READ_THE_MANIFEST = textwrap.dedent("""\
    import json, sys
    from pathlib import Path
    import orchestration.dbt as dbt
    dbt.dbt_executable = lambda: sys.argv[1]
    Path(sys.argv[3]).touch()
    manifest = dbt.manifest_path(Path(sys.argv[2]))
    print(json.loads(manifest.read_text()))
    """)


def test_a_process_never_reads_a_manifest_another_is_still_writing(tmp_path: Path) -> None:
    slow_dbt = tmp_path / "dbt"
    slow_dbt.write_text(f"#!{sys.executable}\n{SLOW_DBT}")
    slow_dbt.chmod(0o755)
    target = tmp_path / "dagster"

    def reader(name: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", READ_THE_MANIFEST, str(slow_dbt), str(target),
                                 str(tmp_path / f"{name}-imported")],
                                env={**os.environ, "RELEASE_THE_MANIFEST": str(tmp_path / "release")},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = reader("first")
    wait_for(lambda: bool(list(target.rglob("manifest.json"))), timeout=60, what="the first manifest", interval=0.05)
    second = reader("second")
    wait_for(lambda: (tmp_path / "second-imported").exists(), timeout=60, what="the second import", interval=0.05)
    time.sleep(1)  # the second asks for the manifest while the first one's is half-written
    (tmp_path / "release").touch()

    outputs = [process.communicate(timeout=120) for process in (first, second)]
    for process, (stdout, stderr) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, stderr[-2000:]
        assert stdout.strip() == "{'nodes': {}}"
    assert json.loads((target / "manifest.json").read_text()) == {"nodes": {}}
