"""`python -m ingest consume` and `python -m ingest stream`."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from ingest.output import say
from ingest.settings import DEFAULT_KAFKA_BOOTSTRAP, Settings
from ingest.signals import stop_on_signals

if TYPE_CHECKING:
    from ingest.kafka.consumer import ZoneConsumer


def _topics(text: str) -> list[str]:
    topics = [topic.strip() for topic in text.split(",") if topic.strip()]
    if not topics:
        raise argparse.ArgumentTypeError("name at least one topic")
    return topics


def _consumer(args: argparse.Namespace, settings: Settings) -> ZoneConsumer:
    from ingest.kafka.consumer import ConsumerConfig, ZoneConsumer, serve_lag_metrics
    from ingest.zone.raw_zone import open_raw_zone

    consumer = ZoneConsumer(ConsumerConfig(bootstrap=args.bootstrap, topics=args.topics, group=args.group,
                                           batch_messages=args.batch_messages, batch_seconds=args.batch_seconds),
                            open_raw_zone(args.raw_zone or settings.raw_zone_url))
    if args.metrics_port:
        serve_lag_metrics(consumer, args.metrics_port)
    return consumer


def _cmd_consume(args: argparse.Namespace, settings: Settings) -> int:
    consumer = _consumer(args, settings)
    with stop_on_signals(consumer.stop_requested, "consume", "landing the open batches, then stopping"):
        consumer.start()
        say("consume", f"{','.join(args.topics)} from {args.bootstrap} as group {args.group!r} into "
                       f"{consumer.zone.url}/kafka (Ctrl-C or SIGTERM lands the open batches and stops)")
        started = time.monotonic()
        try:
            while not consumer.stopping and (args.seconds is None or time.monotonic() - started < args.seconds):
                consumer.poll_for(min(args.batch_seconds, 5.0))
                lag = consumer.refresh_lag()
                if not args.quiet:
                    say("consume", f"landed {consumer.messages_landed:,} messages in {consumer.files_written:,} "
                                   f"files, lag {lag:,}")
        finally:
            consumer.close()
    return 0


def _cmd_stream(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.kafka.stream import run_stream

    consumer = _consumer(args, settings)
    say("stream", f"every {args.interval:g}s: consume {','.join(args.topics)}, land in {consumer.zone.url}/kafka, "
                  "load, dbt build -s +tag:realtime")
    with stop_on_signals(consumer.stop_requested, "stream", "finishing the current cycle, then stopping"):
        return run_stream(consumer, settings, args.interval, args.cycles)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap", default=DEFAULT_KAFKA_BOOTSTRAP,
                        help=f"Kafka bootstrap servers (default {DEFAULT_KAFKA_BOOTSTRAP})")
    parser.add_argument("--topics", type=_topics, default=["clickstream", "video", "quiz"],
                        help="comma-separated topics (default clickstream,video,quiz)")
    parser.add_argument("--group", default="student-behavior-raw", help="consumer group (default student-behavior-raw)")
    parser.add_argument("--raw-zone", help="raw zone URL or folder (default $RAW_ZONE_URL or data/raw_zone)")
    parser.add_argument("--batch-messages", type=int, default=50_000,
                        help="land a partition's batch at this many messages (default 50000)")
    parser.add_argument("--batch-seconds", type=float, default=5.0,
                        help="or when its first message is this old (default 5)")
    parser.add_argument("--metrics-port", type=int,
                        help="serve consumer lag as Prometheus text on 127.0.0.1:PORT/metrics")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    consume = commands.add_parser(
        "consume", help="Kafka consumer-group member landing micro-batches in the raw zone",
        description="Consume the topics as a member of GROUP and land each partition's micro-batches as "
                    "<raw zone>/kafka/<topic>/date=YYYY-MM-DD/<topic>-p<partition>-o<first>-<last>.jsonl, "
                    "committing offsets only once the file is durable. Start several with the same group "
                    "to share the partitions.")
    _common(consume)
    consume.add_argument("--seconds", type=float, help="stop after this long (default: run until stopped)")
    consume.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    consume.set_defaults(func=_cmd_consume)

    stream = commands.add_parser(
        "stream", help="consume, load and build the realtime models every N seconds",
        description="Every INTERVAL seconds: land what was consumed, load it into raw.events and run "
                    "`dbt build -s +tag:realtime` (silver.events_cleaned and gold.course_activity_realtime, "
                    "with their parents); "
                    "prints freshness (event time to its row in the mart) and consumer lag per cycle.")
    _common(stream)
    stream.add_argument("--interval", type=float, default=30.0, help="seconds per cycle (default 30)")
    stream.add_argument("--cycles", type=int, help="stop after this many cycles (default: run until stopped)")
    stream.set_defaults(func=_cmd_stream)
