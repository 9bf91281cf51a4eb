"""Row-by-row comparison of a dbt relation with an independent reference implementation,
with readable differences (used by the reference-model tests)."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import pytest

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Tolerance:
    """How close two floats must be to count as the same value."""
    relative: float = 0.0
    absolute: float = 1e-9

    def same(self, a: Any, b: Any) -> bool:
        if a is None or b is None:
            return a is None and b is None
        if isinstance(a, float) or isinstance(b, float):
            return math.isclose(float(a), float(b), rel_tol=self.relative, abs_tol=self.absolute)
        return bool(a == b)


def row_differences(columns: tuple[str, ...], key_len: int, dbt_rows: list[Row], ref_rows: list[Row],
                    tolerance: Tolerance, describe: Callable[[Hashable], str] | None = None) -> list[str]:
    """Readable differences between two row sets keyed by their first key_len columns."""
    def keyed(rows: list[Row], side: str) -> dict[Hashable, Row]:
        out: dict[Hashable, Row] = {}
        for row in rows:
            key = row[:key_len]
            assert key not in out, f"key {key} twice in {side}"
            out[key] = row
        return out

    dbt_by_key, ref_by_key = keyed(dbt_rows, "dbt"), keyed(ref_rows, "reference")
    problems: list[str] = []
    for key in sorted(dbt_by_key.keys() | ref_by_key.keys(), key=repr):
        got, want = dbt_by_key.get(key), ref_by_key.get(key)
        note = f"  [{describe(key)}]" if describe else ""
        if want is None:
            assert got is not None
            problems.append(f"only in dbt:       {dict(zip(columns, got, strict=True))}{note}")
        elif got is None:
            problems.append(f"only in reference: {dict(zip(columns, want, strict=True))}{note}")
        else:
            fields = [f"{c}: dbt={g!r} reference={w!r}"
                      for c, g, w in zip(columns[key_len:], got[key_len:], want[key_len:], strict=True)
                      if not tolerance.same(g, w)]
            if fields:
                key_columns = dict(zip(columns[:key_len], want[:key_len], strict=True))
                problems.append(f"differs {key_columns}: {'; '.join(fields)}{note}")
    return problems


def assert_same_rows(name: str, columns: tuple[str, ...], key_len: int, dbt_rows: list[Row], ref_rows: list[Row],
                     tolerance: Tolerance, describe: Callable[[Hashable], str] | None = None,
                     max_shown: int = 10) -> None:
    problems = row_differences(columns, key_len, dbt_rows, ref_rows, tolerance, describe)
    if problems:
        shown = "\n  ".join(problems[:max_shown])
        pytest.fail(f"{name}: {len(problems)} differing rows (dbt {len(dbt_rows)} rows, reference "
                    f"{len(ref_rows)} rows); first {min(len(problems), max_shown)}:\n  {shown}", pytrace=False)
