"""The ``push-pop`` command: push, pop, lease and inspect queues from a shell.

Exit codes: 0 ok, 1 the server refused (code and hint on stderr), 2 usage error (also bad
arguments caught before any request), 3 the server could not be reached, 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import IO, Any

from ._client import DEFAULT_URL, PushPopClient, Queue
from ._exceptions import (
    AuthenticationError,
    BadRequestError,
    LockExpiredError,
    LockNotFoundError,
    NotFoundError,
    PushPopConnectionError,
    PushPopError,
    QueueFullError,
    QueueLockedError,
    TooLargeError,
    UnavailableError,
)
from ._models import ConfigChanges, Message, PushEntry, PushResult, QueueConfig, QueueStats
from ._version import __version__

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_CONNECTION = 3
EXIT_INTERRUPTED = 130

_HINTS: dict[type[PushPopError], str] = {
    AuthenticationError: "pass --token or set PUSH_POP_API_TOKEN",
    LockNotFoundError: "that lock id was never issued or is already settled",
    NotFoundError: "is --url / PUSH_POP_URL pointing at a push-pop server?",
    LockExpiredError: "the lease expired: its message is back in the queue (or dead-lettered)",
    TooLargeError: "see the queue's max_item_bytes (push-pop config QUEUE)",
    QueueLockedError: "an exclusive lease is outstanding; retry after it expires",
    QueueFullError: "the queue is at its max_length; consume some messages or raise the limit",
    UnavailableError: "the server's backend is down; retry later",
    BadRequestError: "check the argument named above",
}


class UsageError(Exception):
    """Bad command-line input found after argparse (a malformed JSONL line, say)."""


# Parser ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (global options may also follow the subcommand)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help=f"server URL (env PUSH_POP_URL, default {DEFAULT_URL})",
    )
    common.add_argument(
        "--token", default=argparse.SUPPRESS, help="bearer token (env PUSH_POP_API_TOKEN)"
    )
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    common.add_argument(
        "--timeout", type=float, default=argparse.SUPPRESS, help="seconds per request (10)"
    )

    parser = argparse.ArgumentParser(
        prog="push-pop",
        description="Push to and pop from push-pop queues.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, run: Callable[[Queue, argparse.Namespace], Any]) -> Any:
        sub = commands.add_parser(name, help=help, description=help, parents=[common])
        sub.add_argument("queue", metavar="QUEUE", help="queue id")
        sub.set_defaults(run=run)
        return sub

    push = command("push", "push one item, or JSONL lines from --file or stdin", _push)
    push.add_argument("item", nargs="?", type=_json_object, help="the item, a JSON object")
    push.add_argument("-p", "--priority", type=int, default=0, help="0 is the highest (0)")
    push.add_argument("--key", help="idempotency key (single item only)")
    push.add_argument("-f", "--file", help="JSONL file of items ('-' for stdin)")
    push.add_argument(
        "--batch", type=_int_between(1, 1000), default=500, help="items per request (500)"
    )
    push.add_argument(
        "--entries",
        action="store_true",
        help='lines are {"item": ..., "priority": ..., "idempotency_key": ...} objects',
    )
    push.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )

    pop = command("pop", "remove messages and print their items as JSONL", _pop)
    _count_option(pop, 1)
    _wait_option(pop)

    lease = command("lease", "lease messages (acknowledge them with ack)", _lease)
    _count_option(lease, 1)
    lease.add_argument("--ttl", type=int, default=30, help="lease seconds (30)")
    lease.add_argument("--exclusive", action="store_true", help="take the queue's single lock")
    _wait_option(lease)

    ack = command("ack", "acknowledge leases", _ack)
    ack.add_argument("lock_ids", nargs="+", metavar="LOCK_ID")

    nack = command("nack", "return a leased message to the queue now", _nack)
    nack.add_argument("lock_id", metavar="LOCK_ID")
    nack.add_argument("-p", "--priority", type=int, help="requeue at this priority")

    extend = command("extend", "extend a lease", _extend)
    extend.add_argument("lock_id", metavar="LOCK_ID")
    extend.add_argument("--ttl", type=int, default=30, help="new lease seconds from now (30)")

    peek = command("peek", "show the next messages without removing them", _peek)
    _count_option(peek, 10)
    peek.add_argument("-p", "--priority", type=int, help="only this priority")

    command("stats", "show a queue's counts", _stats)

    dead = command("dead-letters", "list dead letters", _dead_letters)
    _count_option(dead, 100)

    redrive = command("redrive", "move dead letters back to the queue", _redrive)
    redrive.add_argument("-n", "--count", type=int, help="how many (default all)")
    redrive.add_argument("-p", "--priority", type=int, help="requeue at this priority")

    purge = command("purge", "drop ready messages (or dead letters, or everything)", _purge)
    scope = purge.add_mutually_exclusive_group()
    scope.add_argument("-p", "--priority", type=int, help="only this priority")
    scope.add_argument("--dead-letters", action="store_true", help="drop the dead letters")
    scope.add_argument(
        "--all", action="store_true", help="delete the queue: ready, leases, dead letters"
    )

    config = command("config", "show or change a queue's settings", _config)
    config.add_argument("--max-deliveries", type=_optional_int, metavar="N|none")
    config.add_argument("--dedup-window", type=int, metavar="SECONDS")
    config.add_argument("--max-length", type=_optional_int, metavar="N|none")
    config.add_argument("--max-item-bytes", type=int, metavar="BYTES")
    return parser


def _count_option(parser: argparse.ArgumentParser, default: int) -> None:
    parser.add_argument(
        "-n", "--count", type=_int_between(1, 1000), default=default, help=f"({default})"
    )


def _wait_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait", type=_int_between(0, 60), default=0, help="long-poll seconds, 0-60 (0)"
    )


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("an item must be a JSON object")
    return value


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its error message
    return parse


def _optional_int(text: str) -> int | None:
    return None if text.lower() in {"none", "null", "unlimited"} else int(text)


# Running --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Output:
    """What a command prints: ``data`` with ``--json``, else ``text`` (nothing when empty)."""

    data: Any
    text: str


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    url = getattr(args, "url", None) or os.environ.get("PUSH_POP_URL") or DEFAULT_URL
    token = getattr(args, "token", None) or os.environ.get("PUSH_POP_API_TOKEN") or None
    try:
        with PushPopClient(url, token=token, timeout=getattr(args, "timeout", 10.0)) as client:
            output: Output = args.run(client.queue(args.queue), args)
        if getattr(args, "json", False):
            print(json.dumps(output.data, ensure_ascii=False))
        elif output.text:
            print(output.text)
        sys.stdout.flush()
    except UsageError as error:
        return _fail(EXIT_USAGE, f"error: {error}")
    except PushPopConnectionError as error:
        hint = f"is the server running at {url}? (--url or PUSH_POP_URL)"
        return _fail(EXIT_CONNECTION, f"error: cannot reach the server: {error}", hint)
    except PushPopError as error:
        return _api_failure(error)
    except KeyboardInterrupt:
        return _fail(EXIT_INTERRUPTED, "interrupted")
    except BrokenPipeError:  # the reader (``| head``) went away: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def _api_failure(error: PushPopError) -> int:
    if isinstance(error, BadRequestError) and error.status_code is None:
        return _fail(EXIT_USAGE, f"error: {error.message}")  # caught before any request
    status = f" (HTTP {error.status_code})" if error.status_code else ""
    text = f"error: {error.code or 'ERROR'}{status}: {error.message}"
    if isinstance(error, BadRequestError) and error.field:
        text += f" [field: {error.field}]"
    if isinstance(error, QueueLockedError) and error.lock_expires_at:
        text += f" [locked until {_time(error.lock_expires_at)}]"
    hint = next((h for kind, h in _HINTS.items() if isinstance(error, kind)), None)
    return _fail(EXIT_API_ERROR, text, hint)


def _fail(code: int, text: str, hint: str | None = None) -> int:
    print(f"push-pop: {text}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    return code


# Commands -------------------------------------------------------------------------------------


def _push(queue: Queue, args: argparse.Namespace) -> Output:
    if args.item is not None:
        if args.file is not None:
            raise UsageError("give an ITEM or --file, not both")
        message_id = queue.push(args.item, args.priority, args.key)
        return Output({"id": message_id}, message_id)
    if args.key is not None:
        raise UsageError("--key goes with a single ITEM; JSONL lines carry their own keys")
    source = args.file or "-"
    if source == "-" and sys.stdin.isatty():
        raise UsageError("give an ITEM, --file FILE, or pipe JSONL lines on stdin")
    try:
        stream = sys.stdin if source == "-" else open(source, encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        raise UsageError(f"cannot read {source}: {error.strerror}") from error
    show = sys.stderr.isatty() if args.progress is None else args.progress
    total = _count_lines(source) if show and source != "-" else None
    bar = ProgressBar(total, sys.stderr if show else None)
    results: list[PushResult] = []
    try:
        entries = _read_entries(stream, args.priority, args.entries)
        while batch := list(islice(entries, args.batch)):
            results.append(queue.push_many(batch))
            bar.advance(len(batch))
    except BaseException:
        if results:
            bar.close()
            done = sum(len(result.ids) for result in results)
            print(f"push-pop: {done} items were pushed before the error", file=sys.stderr)
        raise
    finally:
        bar.close()
        if stream is not sys.stdin:
            stream.close()
    result = PushResult.combine(results)
    data = {"items_pushed": result.pushed, "duplicates": result.duplicates, "ids": result.ids}
    return Output(data, f"pushed {result.pushed} items ({result.duplicates} duplicates)")


def _read_entries(stream: IO[str], priority: int, as_entries: bool) -> Iterator[PushEntry]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise UsageError(f"line {number}: not JSON ({error.msg})") from error
        if not as_entries:
            if not isinstance(value, dict):
                raise UsageError(f"line {number}: an item must be a JSON object")
            yield PushEntry(value, priority)
        elif isinstance(value, dict) and isinstance(value.get("item"), dict):
            key = value.get("idempotency_key")
            yield PushEntry(value["item"], value.get("priority", priority), key)
        else:
            raise UsageError(f'line {number}: expected {{"item": {{...}}, "priority": ...}}')


def _count_lines(path: str) -> int | None:
    try:
        with open(path, "rb") as stream:
            return sum(1 for line in stream if line.strip())
    except OSError:
        return None


def _pop(queue: Queue, args: argparse.Namespace) -> Output:
    messages = queue.pop(args.count, wait_seconds=args.wait)
    lines = [json.dumps(message.item, ensure_ascii=False) for message in messages]
    return Output(_messages_data(messages), "\n".join(lines))


def _lease(queue: Queue, args: argparse.Namespace) -> Output:
    messages = queue.lease(args.count, args.ttl, args.exclusive, wait_seconds=args.wait)
    return Output(_messages_data(messages), _messages_table(messages, leased=True))


def _ack(queue: Queue, args: argparse.Namespace) -> Output:
    lock_ids: list[str] = args.lock_ids
    count = queue.ack(lock_ids[0] if len(lock_ids) == 1 else lock_ids)
    return Output({"items_acknowledged": count}, f"acknowledged {count}")


def _nack(queue: Queue, args: argparse.Namespace) -> Output:
    queue.nack(args.lock_id, args.priority)
    return Output({"success": True}, "nacked")


def _extend(queue: Queue, args: argparse.Namespace) -> Output:
    expires = queue.extend(args.lock_id, args.ttl)
    data = {"lock_id": args.lock_id, "lock_expires_at": expires}
    return Output(data, f"lease {args.lock_id} expires at {_time(expires)}")


def _peek(queue: Queue, args: argparse.Namespace) -> Output:
    messages = queue.peek(args.count, args.priority)
    return Output(_messages_data(messages), _messages_table(messages))


def _dead_letters(queue: Queue, args: argparse.Namespace) -> Output:
    messages = queue.dead_letters(args.count)
    return Output(_messages_data(messages), _messages_table(messages, dead=True))


def _redrive(queue: Queue, args: argparse.Namespace) -> Output:
    count = queue.redrive(args.count, args.priority)
    return Output({"items_redriven": count}, f"redrove {count}")


def _purge(queue: Queue, args: argparse.Namespace) -> Output:
    if args.all:
        count = queue.delete()
    elif args.dead_letters:
        count = queue.purge_dead_letters()
    else:
        count = queue.purge(args.priority)
    return Output({"items_purged": count}, f"purged {count}")


def _stats(queue: Queue, args: argparse.Namespace) -> Output:
    stats = queue.stats()
    return Output(dataclasses.asdict(stats), _stats_text(stats))


def _config(queue: Queue, args: argparse.Namespace) -> Output:
    changes = ConfigChanges()
    if args.max_deliveries is not None:
        changes["max_deliveries"] = args.max_deliveries
    if args.dedup_window is not None:
        changes["dedup_window_seconds"] = args.dedup_window
    if args.max_length is not None:
        changes["max_length"] = args.max_length
    if args.max_item_bytes is not None:
        changes["max_item_bytes"] = args.max_item_bytes
    config = queue.set_config(**changes) if changes else queue.get_config()
    return Output(dataclasses.asdict(config), _config_text(config))


# Formatting -----------------------------------------------------------------------------------


def _messages_data(messages: Iterable[Message]) -> list[dict[str, Any]]:
    return [
        {name: value for name, value in dataclasses.asdict(message).items() if value is not None}
        for message in messages
    ]


def _messages_table(
    messages: Sequence[Message], *, leased: bool = False, dead: bool = False
) -> str:
    if not messages:
        return ""
    headers = ["ID", "PRIORITY", "DELIVERIES"]
    headers += ["LOCK ID", "EXPIRES"] if leased else []
    headers += ["REASON"] if dead else []
    rows = []
    for message in messages:
        row = [message.id, str(message.priority), str(message.deliveries)]
        if leased:
            row += [message.lock_id or "", _time(message.lock_expires_at)]
        if dead:
            row += [message.dead_letter_reason or ""]
        rows.append([*row, json.dumps(message.item, ensure_ascii=False)])
    return _table([*headers, "ITEM"], rows)


def _stats_text(stats: QueueStats) -> str:
    lock = _time(stats.exclusive_lock_expires_at) if stats.exclusive_lock_expires_at else "-"
    summary = _table(
        ["QUEUE", "READY", "IN FLIGHT", "DEAD LETTERS", "EXCLUSIVE LOCK UNTIL"],
        [[stats.queue_id, str(stats.ready), str(stats.in_flight), str(stats.dead_letters), lock]],
    )
    levels = _table(
        ["PRIORITY", "READY", "OLDEST AGE"],
        [
            [str(level.priority), str(level.ready), _age(level.oldest_age_seconds)]
            for level in stats.priorities
        ],
    )
    totals = stats.totals
    lifetime = _table(
        ["PUSHED", "POPPED", "ACKNOWLEDGED", "EXPIRED", "DEAD-LETTERED"],
        [[str(value) for value in dataclasses.astuple(totals)]],
    )
    parts = [summary, levels if stats.priorities else "(no ready messages)", lifetime]
    return "\n\n".join(parts)


def _config_text(config: QueueConfig) -> str:
    rows = [
        [name, "unlimited" if value is None else str(value)]
        for name, value in dataclasses.asdict(config).items()
    ]
    return _table(["SETTING", "VALUE"], rows)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, numbers right-aligned."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(width) if cell.isdigit() else cell.ljust(width)
            for cell, width in zip(cells, widths, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join(line(cells) for cells in [headers, *rows])


def _time(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp).isoformat(sep=" ", timespec="seconds")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


class ProgressBar:
    """A one-line progress bar on a terminal stream; does nothing without one."""

    WIDTH = 30

    def __init__(self, total: int | None, stream: IO[str] | None) -> None:
        self._total = total
        self._stream = stream
        self._done = 0
        self._started = time.monotonic()
        self._drawn_at = 0.0

    def advance(self, count: int) -> None:
        self._done += count
        now = time.monotonic()
        if now - self._drawn_at >= 0.1 or self._done == self._total:
            self._drawn_at = now
            self._draw(now)

    def close(self) -> None:
        if self._stream is not None and self._drawn_at:
            self._draw(time.monotonic())
            self._stream.write("\n")
            self._stream.flush()
        self._stream = None

    def _draw(self, now: float) -> None:
        if self._stream is None:
            return
        rate = self._done / max(now - self._started, 1e-9)
        if self._total:
            filled = min(self.WIDTH, self.WIDTH * self._done // self._total)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            text = f"[{bar}] {self._done}/{self._total} {100 * self._done // self._total}%"
        else:
            text = f"{self._done} items"
        self._stream.write(f"\r{text}  {rate:,.0f}/s")
        self._stream.flush()
