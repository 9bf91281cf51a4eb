"""`python -m readapi serve [--host H] [--port P]`: the read API (settings from the environment)."""

from __future__ import annotations

import argparse
import sys

from ingest.errors import InputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m readapi", description="The warehouse's read API (FastAPI).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the read API until interrupted",
                                description="Reads WAREHOUSE_PATH (or WAREHOUSE_CATALOG) as a reader; verifies "
                                            "tokens with READ_API_JWT_SECRET (HS256) or READ_API_JWKS (RS256).")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8100)
    args = parser.parse_args(argv)
    try:
        import uvicorn

        from ingest.settings import Settings
        from readapi.app import create_app
        from readapi.data import Store

        settings = Settings.from_env()
        store = Store(settings)  # a missing warehouse or key is a one-line error before the port opens
        app = create_app(settings, store)
        store.start()
        print(f"read API on http://{args.host}:{args.port} (OpenAPI: /docs), serving snapshot {store.copy.snapshot}",
              flush=True)
        try:
            uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
        finally:
            store.stop()
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
