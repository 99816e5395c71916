"""Run the real local infrastructure.

python -m deploy.local up [--durable] [--kafka-port N] [--postgres-port N]
    Start PostgreSQL and Kafka, print DATABASE_URL=... and
    KAFKA_BOOTSTRAP_SERVERS=..., keep running until Ctrl-C (or SIGTERM),
    then stop both and delete their temporary data.

python -m deploy.local jars
    Only resolve the Kafka broker jars into deploy/kafka/cache/libs.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time


def _up(args: argparse.Namespace) -> int:
    from deploy.local.kafka import KafkaBroker
    from deploy.local.postgres import PostgresServer

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    postgres = PostgresServer(port=args.postgres_port)
    broker = KafkaBroker(port=args.kafka_port)
    try:
        started = time.monotonic()
        postgres.start(durable=args.durable)
        print(
            f"# PostgreSQL ready in {time.monotonic() - started:.1f}s "
            f"(data: {postgres.data_dir}, log: {postgres.log_file})",
            file=sys.stderr,
        )
        started = time.monotonic()
        broker.start()
        print(
            f"# Kafka ready in {time.monotonic() - started:.1f}s "
            f"(data: {broker.data_dir}, log: {broker.server_log})",
            file=sys.stderr,
        )
        print(f"DATABASE_URL={postgres.url_for('postgres')}")
        print(f"KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap_servers}", flush=True)
        print("# Ctrl-C to stop", file=sys.stderr, flush=True)
        while not stop.wait(1):
            if not broker.is_running:
                print("# Kafka broker exited unexpectedly", file=sys.stderr)
                return 1
    finally:
        print("# stopping", file=sys.stderr, flush=True)
        broker.close()
        postgres.close()
    return 0


def _jars(args: argparse.Namespace) -> int:
    from deploy.local.kafka import KAFKA_VERSION, ensure_jars

    started = time.monotonic()
    libs = ensure_jars()
    print(f"Kafka {KAFKA_VERSION} jars in {libs} ({time.monotonic() - started:.1f}s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start PostgreSQL and Kafka until Ctrl-C")
    up.add_argument(
        "--durable",
        action="store_true",
        help="keep PostgreSQL's fsync/synchronous_commit defaults (benchmarks)",
    )
    up.add_argument("--kafka-port", type=int, default=None)
    up.add_argument("--postgres-port", type=int, default=None)
    up.set_defaults(func=_up)
    jars = sub.add_parser("jars", help="resolve the Kafka broker jars with Maven")
    jars.set_defaults(func=_jars)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="# %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
