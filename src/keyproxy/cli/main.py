"""Argument parsing for `keyproxy`; each sub-command lives in its own module and is imported only when run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from keyproxy import __version__
from keyproxy.cli.worker_link import WorkerLink
from keyproxy.config import CliOptions
from keyproxy.errors import KeyproxyError


def _config_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", type=Path, help="read variables from this file instead of ./.env")
    parser.add_argument("--config", type=Path, help="YAML file with variables and aliases (KEYPROXY_CONFIG)")
    parser.add_argument("--data-dir", type=Path, help="where state and logs go (KEYPROXY_DATA_DIR)")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to bind (default 8000)")
    parser.add_argument("--demo", action="store_true", help="add a demo/... provider backed by a built-in fake")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="keyproxy", description="Self-hosted LLM API gateway with key rotation.")
    root.add_argument("--version", action="version", version=f"keyproxy {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the proxy")
    _config_flags(serve)
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--workers", help="worker processes on the one port: a number or auto, one per core (KEYPROXY_WORKERS; "
        "more than one needs KEYPROXY_REDIS_URL)",
    )  # fmt: skip
    # Set by the supervisor for the workers it starts (cli/worker_link.py), never by hand.
    for flag in ("--worker-index", "--worker-listener", "--worker-channel"):
        serve.add_argument(flag, type=int, help=argparse.SUPPRESS)
    check = commands.add_parser("check", help="load the configuration as serve would and report problems")
    _config_flags(check)
    check.add_argument(
        "--models", action="store_true",
        help="also fetch every provider's model list (network) and show where ambiguous bare model names go",
    )  # fmt: skip
    check.add_argument(
        "--explain", action="store_true",
        help="also print every setting read, its value and where it came from, and what becomes of each old "
        "proxy variable",
    )  # fmt: skip
    status = commands.add_parser("status", help="show every key's state in the running proxy")
    _config_flags(status)
    status.add_argument("--json", action="store_true", help="print the raw JSON")
    reset = commands.add_parser("reset-key", help="lift cooldowns and benches in the running proxy")
    _config_flags(reset)
    reset.add_argument("provider")
    reset.add_argument("key", nargs="?", help="fingerprint or masked key (default: every key of the provider)")
    keys = commands.add_parser("keys", help="list, add, remove, disable, enable or test keys of the running proxy")
    _config_flags(keys)
    keys.add_argument("action", choices=["list", "add", "remove", "disable", "enable", "test"])
    keys.add_argument("provider", nargs="?", help="the provider (list: all when omitted)")
    keys.add_argument("key", nargs="?", help="the key's id or mask (add reads the key itself from stdin)")
    usage = commands.add_parser("usage", help="requests, tokens and cost per provider, key and model")
    _config_flags(usage)
    usage.add_argument("--json", action="store_true", help="print the raw JSON")
    usage.add_argument("--offline", action="store_true", help="read the data dir even if a proxy is running")
    for name in ("provider", "model"):
        usage.add_argument(f"--{name}")
    usage.add_argument("--since", help="first UTC day, YYYY-MM-DD")
    usage.add_argument("--until", help="last UTC day, YYYY-MM-DD")
    capture = commands.add_parser("capture", help="read the exchanges KEYPROXY_CAPTURE wrote")
    reading = capture.add_subparsers(dest="capture_command", required=True)
    tail = reading.add_parser("tail", help="the last captured exchanges, one line each")
    _config_flags(tail)
    tail.add_argument("-n", "--count", type=int, default=20, help="how many (default 20)")
    tail.add_argument("--json", action="store_true", help="print each whole record as one JSON line")
    show = reading.add_parser("show", help="one captured exchange in full")
    _config_flags(show)
    show.add_argument("id", help="the exchange id (the x-keyproxy-capture-id answer header, or from tail)")
    show.add_argument("--json", action="store_true", help="print the raw record")
    login = commands.add_parser("login", help="add an OAuth account (gemini-cli) by logging in with a browser")
    _config_flags(login)
    login.add_argument("provider", choices=["gemini-cli"])
    login.add_argument(
        "--callback-port", type=int, default=8085,
        help="loopback port the browser comes back to (default 8085; 0: any free one)",
    )  # fmt: skip
    login.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the browser (default 300)")
    fake = commands.add_parser("fake-upstream", help="run the fake OpenAI-compatible upstream used by tests")
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, default=9000)
    fake.add_argument("--keys", help="comma-separated keys to accept (default: any)")
    return root


def options_from(args: argparse.Namespace) -> CliOptions:
    return CliOptions(
        host=args.host,
        port=args.port,
        env_file=args.env_file,
        config_file=args.config,
        data_dir=args.data_dir,
        demo=args.demo,
        log_level=getattr(args, "log_level", None),
        workers=getattr(args, "workers", None),
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(arguments)
    try:
        return _run(args, arguments)
    except KeyproxyError as error:
        # Our own errors say what is wrong in one line; a traceback would only bury it.
        sys.stderr.write(f"keyproxy: {error.message}\n")
        return 1


def _worker_link(args: argparse.Namespace) -> WorkerLink | None:
    if args.worker_index is None or args.worker_listener is None or args.worker_channel is None:
        return None
    return WorkerLink(args.worker_index, args.worker_listener, args.worker_channel)


def _run(args: argparse.Namespace, arguments: list[str]) -> int:
    if args.command == "serve":
        from keyproxy.cli.launch import start

        return start(options_from(args), arguments, _worker_link(args))
    if args.command == "check":
        from keyproxy.cli.check import check

        return check(options_from(args), models=args.models, explain=args.explain)
    if args.command == "status":
        from keyproxy.cli.status import status

        return status(options_from(args), as_json=args.json)
    if args.command == "usage":
        from keyproxy.cli.usage_report import usage

        filters = {name: getattr(args, name) for name in ("provider", "model", "since", "until")}
        return usage(options_from(args), filters, as_json=args.json, offline=args.offline)
    if args.command == "reset-key":
        from keyproxy.cli.status import reset_key

        return reset_key(options_from(args), args.provider, args.key)
    if args.command == "keys":
        from keyproxy.cli.keys import keys

        return keys(options_from(args), args.action, args.provider, args.key)
    if args.command == "capture":
        from keyproxy.cli.capture import show, tail

        if args.capture_command == "tail":
            return tail(options_from(args), args.count, as_json=args.json)
        return show(options_from(args), args.id, as_json=args.json)
    if args.command == "login":
        from keyproxy.cli.login import login

        return login(options_from(args), args.provider, args.callback_port, args.timeout)
    from keyproxy.cli.fake import fake_upstream

    return fake_upstream(args.host, args.port, args.keys)
