"""`python -m ingest serve` and `python -m ingest keys ...`."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import socket
import sys

from ingest.api.config import ApiConfig
from ingest.api.keys import KeyFile
from ingest.errors import InputError
from ingest.output import say
from ingest.settings import Settings

STARTUP_FAILURE = 3  # uvicorn's exit status when the application did not start


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1: {text}")
    return int(text)


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0: {text}")
    return value


def _listen(host: str, port: int, what: str) -> socket.socket:
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        return socket.create_server(address, family=family)  # uvicorn sets the backlog
    except OSError as error:
        raise InputError(f"cannot listen on {host}:{port} for the {what}: {error.strerror or error}; "
                         f"pick another address or port") from None


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from ingest.api.app import TrackingApi
    from ingest.api.connections import ConnectionLimits, guarded_protocol

    overrides = {name: value for name, value in {
        "raw_zone_url": args.raw_zone, "max_events": args.max_events, "max_body_bytes": args.max_body_bytes,
        "rate_limit_per_second": args.rate_limit, "rate_limit_burst": args.rate_burst,
        "rotate_bytes": args.rotate_bytes, "rotate_seconds": args.rotate_seconds,
        "sink": args.sink, "kafka_bootstrap": args.kafka_bootstrap, "kafka_topic_prefix": args.kafka_topic_prefix,
        "header_timeout_seconds": args.header_timeout, "body_timeout_seconds": args.body_timeout,
        "max_connections": args.max_connections, "auth_failures_per_minute": args.auth_failures_per_minute,
        "metrics_host": args.metrics_host, "metrics_port": args.metrics_port,
    }.items() if value is not None}
    config = dataclasses.replace(ApiConfig.from_settings(settings), **overrides)
    api = TrackingApi(config)
    if not len(api.keys):
        say("serve", f"warning: no active API key in {config.keys_file}; every POST will get 401. "
                     "Create one with `python -m ingest keys create NAME`.")
    listeners = [_listen(args.host, args.port, "API")]
    metrics_note = "no /metrics (serve them with --metrics-port)"
    if config.metrics_port is not None:
        listeners.append(_listen(config.metrics_host, config.metrics_port, "metrics"))
        host, port = listeners[-1].getsockname()[:2]
        api.metrics_address = (str(host), int(port))
        metrics_note = f"metrics at http://{config.metrics_host}:{port}/metrics"
    destination = (f"Kafka at {config.kafka_bootstrap} (rejected events: {api.zone.url})" if config.sink == "kafka"
                   else api.zone.url)
    say("serve", f"tracking API on http://{args.host}:{args.port} writing to {destination}; {metrics_note} "
                 "(OpenAPI at /openapi.json; Ctrl-C or SIGTERM drains and stops)")
    limits = ConnectionLimits(header_timeout=config.header_timeout_seconds, body_timeout=config.body_timeout_seconds,
                              max_connections=config.max_connections, uncapped_address=api.metrics_address)
    # One server, one lifespan, one graceful shutdown for both listeners; the application
    # tells them apart by the local address of each request.
    server = uvicorn.Server(uvicorn.Config(
        api, lifespan="on", access_log=False, log_level="warning", timeout_graceful_shutdown=30, backlog=4096,
        loop="uvloop", http=guarded_protocol(limits, api.metrics)))
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C during the drain: stop now, as uvicorn.run does
        server.run(sockets=listeners)
    return 0 if server.started else STARTUP_FAILURE


def _cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    keys_file = settings.api_keys_file
    key = KeyFile(keys_file).create(args.name)
    print(key)
    print(f"key {args.name!r} created; it is shown only now, store it in your secret manager "
          f"(only its SHA-256 is kept in {keys_file})", file=sys.stderr)
    return 0


def _cmd_keys_list(args: argparse.Namespace, settings: Settings) -> int:
    keys_file = settings.api_keys_file
    keys = KeyFile(keys_file).read()
    if not keys:
        print(f"no keys in {keys_file}")
    for key in keys:
        state = "active" if key.active else f"revoked {key.revoked_at}"
        print(f"{key.name:24} created {key.created_at}  {state}  sha256:{key.key_sha256[:12]}")
    return 0


def _cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    KeyFile(settings.api_keys_file).revoke(args.name)
    print(f"key {args.name!r} revoked; a running server stops taking it within seconds")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="run the tracking API (POST /v1/track) into the raw zone",
        description="Run the tracking API. Accepted events are appended to "
                    "<raw zone>/api/date=YYYY-MM-DD/part-*.jsonl and fsynced before the answer; rejected ones go "
                    "to <raw zone>/rejected/api/ with their reason. The raw zone is $RAW_ZONE_URL (a folder, "
                    "default data/raw_zone, or s3://bucket/prefix). Limits also read API_MAX_EVENTS, "
                    "API_MAX_BODY_BYTES, API_RATE_LIMIT, API_RATE_BURST, API_ROTATE_BYTES, API_ROTATE_SECONDS, "
                    "API_HEADER_TIMEOUT, API_BODY_TIMEOUT, API_MAX_CONNECTIONS, API_AUTH_FAILURES_PER_MINUTE, "
                    "API_METRICS_HOST and API_METRICS_PORT.",
        epilog="example: python -m ingest keys create web && python -m ingest serve --port 8080\n"
               "         curl -H 'Authorization: Bearer <key>' -d @event.json http://127.0.0.1:8080/v1/track",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument("--raw-zone", help="raw zone URL or folder (default $RAW_ZONE_URL or data/raw_zone)")
    serve.add_argument("--max-events", type=int, help="events per request (default 1000)")
    serve.add_argument("--max-body-bytes", type=int, help="request body bytes (default 1048576)")
    serve.add_argument("--rate-limit", type=float, help="requests per second per key (default 5000)")
    serve.add_argument("--rate-burst", type=float, help="burst of requests per key (default 10000)")
    serve.add_argument("--rotate-bytes", type=int, help="start a new part file past this size (default 64 MiB)")
    serve.add_argument("--rotate-seconds", type=float, help="start a new part file after this age (default 60)")
    serve.add_argument("--sink", choices=["raw_zone", "kafka"],
                       help="where accepted events go: the raw zone (default) or Kafka ($API_SINK)")
    serve.add_argument("--kafka-bootstrap", help="with --sink kafka (default $KAFKA_BOOTSTRAP or 127.0.0.1:9092)")
    serve.add_argument("--kafka-topic-prefix", help="prefix of the topics clickstream, video and quiz (default none)")
    serve.add_argument("--header-timeout", type=_positive_number,
                       help="seconds for a request line and headers to arrive, else 408 and close (default 10)")
    serve.add_argument("--body-timeout", type=_positive_number,
                       help="seconds for a request body to arrive once its headers did, else 408 (default 30)")
    serve.add_argument("--max-connections", type=_positive_int,
                       help="open connections on the API port; a new one past this gets 503 (default 1000)")
    serve.add_argument("--auth-failures-per-minute", type=_positive_number,
                       help="failed key checks allowed per client address and minute, then 429 (default 30)")
    serve.add_argument("--metrics-host", help="interface of the /metrics listener (default 127.0.0.1)")
    serve.add_argument("--metrics-port", type=int,
                       help="serve Prometheus /metrics on METRICS_HOST:PORT, apart from the API (default: not served)")
    serve.set_defaults(func=_cmd_serve)

    keys = commands.add_parser("keys", help="create, list and revoke API keys",
                               description="API keys for the tracking API, stored as SHA-256 hashes in "
                                           "$API_KEYS_FILE (default data/api/keys.json).")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key and print it once",
                                description="Create a key for a client of the tracking API and print it once; "
                                            "only its SHA-256 is stored. Keep it in the client's secret store.")
    create.add_argument("name", help="who uses the key, e.g. web-frontend")
    create.set_defaults(func=_cmd_keys_create)
    listing = actions.add_parser("list", help="list keys (names and state, never the keys)",
                                 description="List every key's name, creation time, state (active or revoked) "
                                             "and the start of its SHA-256; the keys themselves are never stored.")
    listing.set_defaults(func=_cmd_keys_list)
    revoke = actions.add_parser("revoke", help="revoke a key by name",
                                description="Revoke a key by name; a running server stops taking it within "
                                            "seconds, without a restart.")
    revoke.add_argument("name", help="the name given at `keys create`")
    revoke.set_defaults(func=_cmd_keys_revoke)
