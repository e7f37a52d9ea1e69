"""The ``push-pop`` command line: argument parsing and output, without a server."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from push_pop_client import Message, PriorityStats, QueueStats, QueueTotals, cli


def parse(*argv: str) -> Any:
    return cli.build_parser().parse_args(argv)


def test_push_takes_an_item_as_a_json_argument() -> None:
    args = parse("push", "orders", '{"sku": "A"}', "--priority", "3")
    assert (args.queue, args.item, args.priority) == ("orders", {"sku": "A"}, 3)


def test_push_defaults_to_batches_of_500() -> None:
    assert parse("push", "orders", "--file", "x.jsonl").batch == 500


@pytest.mark.parametrize("argv", [["push", "q", "[1]"], ["push", "q", "{nope"]])
def test_push_rejects_an_item_that_is_not_a_json_object(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse(*argv)
    assert exit_.value.code == cli.EXIT_USAGE


@pytest.mark.parametrize("batch", ["0", "1001", "x"])
def test_push_batch_must_be_1_to_1000(batch: str) -> None:
    with pytest.raises(SystemExit):
        parse("push", "q", "--batch", batch)


def test_global_options_may_follow_the_subcommand() -> None:
    args = parse("pop", "q", "--json", "--url", "http://h:1", "--token", "t")
    assert (args.json, args.url, args.token) == (True, "http://h:1", "t")


def test_global_options_may_precede_the_subcommand() -> None:
    args = parse("--url", "http://h:1", "--json", "stats", "q")
    assert (args.json, args.url) == (True, "http://h:1")


def test_lease_options() -> None:
    args = parse("lease", "q", "-n", "5", "--ttl", "60", "--exclusive", "--wait", "10")
    assert (args.count, args.ttl, args.exclusive, args.wait) == (5, 60, True, 10)


def test_wait_is_bounded_to_60_seconds() -> None:
    with pytest.raises(SystemExit):
        parse("pop", "q", "--wait", "61")


def test_ack_takes_several_lock_ids() -> None:
    assert parse("ack", "q", "a", "b").lock_ids == ["a", "b"]


def test_purge_scopes_are_exclusive() -> None:
    with pytest.raises(SystemExit):
        parse("purge", "q", "--all", "--dead-letters")


def test_config_accepts_none_for_unlimited() -> None:
    args = parse("config", "q", "--max-deliveries", "none", "--max-length", "10")
    assert (args.max_deliveries, args.max_length) == (None, 10)


def test_a_subcommand_is_required() -> None:
    with pytest.raises(SystemExit) as exit_:
        parse()
    assert exit_.value.code == cli.EXIT_USAGE


def test_an_invalid_queue_id_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["pop", "not valid"]) == cli.EXIT_USAGE
    assert "invalid queue id" in capsys.readouterr().err


def test_an_unreachable_server_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 9 (discard) on loopback: nothing listens there, so the connection is refused.
    code = cli.main(["stats", "q", "--url", "http://127.0.0.1:9", "--timeout", "2"])
    assert code == cli.EXIT_CONNECTION
    assert "cannot reach" in capsys.readouterr().err


def test_jsonl_lines_become_entries_with_the_default_priority() -> None:
    stream = io.StringIO('{"a": 1}\n\n{"b": 2}\n')
    entries = list(cli._read_entries(stream, priority=4, as_entries=False))
    assert [(e.item, e.priority) for e in entries] == [({"a": 1}, 4), ({"b": 2}, 4)]


def test_entry_lines_carry_their_own_priority_and_key() -> None:
    line = {"item": {"a": 1}, "priority": 2, "idempotency_key": "k"}
    [entry] = cli._read_entries(io.StringIO(json.dumps(line)), priority=0, as_entries=True)
    assert (entry.item, entry.priority, entry.idempotency_key) == ({"a": 1}, 2, "k")


def test_a_malformed_jsonl_line_names_its_number() -> None:
    stream = io.StringIO('{"a": 1}\n{oops\n')
    with pytest.raises(cli.UsageError, match="line 2"):
        list(cli._read_entries(stream, priority=0, as_entries=False))


def test_a_jsonl_line_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(cli.UsageError, match="line 1: an item must be a JSON object"):
        list(cli._read_entries(io.StringIO("[1, 2]\n"), priority=0, as_entries=False))


def test_stats_text_is_a_readable_table() -> None:
    stats = QueueStats(
        queue_id="orders",
        ready=12,
        in_flight=3,
        dead_letters=1,
        priorities=(PriorityStats(0, 10, 3.25), PriorityStats(5, 2, 600.0)),
        totals=QueueTotals(20, 5, 3, 0, 1),
    )
    lines = cli._stats_text(stats).splitlines()
    assert lines[0].split() == [
        "QUEUE",
        "READY",
        "IN",
        "FLIGHT",
        "DEAD",
        "LETTERS",
        "EXCLUSIVE",
        "LOCK",
        "UNTIL",
    ]
    assert lines[1].split() == ["orders", "12", "3", "1", "-"]
    assert lines[4].split() == ["0", "10", "3.2s"]
    assert lines[5].split() == ["5", "2", "10.0m"]
    assert lines[-1].split() == ["20", "5", "3", "0", "1"]


def test_message_table_shows_lock_ids_of_leases() -> None:
    message = Message("7", {"a": 1}, 0, 1, 100.0, lock_id="L1", lock_expires_at=130.0)
    header, row = cli._messages_table([message], leased=True).splitlines()
    assert header.split()[:5] == ["ID", "PRIORITY", "DELIVERIES", "LOCK", "ID"]
    assert row.split()[:4] == ["7", "0", "1", "L1"] and row.endswith('{"a": 1}')


def test_progress_bar_draws_on_its_stream_and_ends_the_line() -> None:
    stream = io.StringIO()
    bar = cli.ProgressBar(1000, stream)
    bar.advance(500)
    bar.advance(500)
    bar.close()
    assert "1000/1000 100%" in stream.getvalue() and stream.getvalue().endswith("\n")


def test_progress_bar_without_a_stream_is_silent() -> None:
    bar = cli.ProgressBar(10, None)
    bar.advance(10)
    bar.close()
