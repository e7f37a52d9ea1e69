"""The real ``push-pop`` command in a subprocess against a real server on a loopback port."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from push_pop_client import PushPopClient


def push_pop_command() -> list[str]:
    """The installed ``push-pop`` script next to this interpreter (else ``python -m``)."""
    script = Path(sys.executable).parent / "push-pop"
    if script.exists():
        return [str(script)]
    found = shutil.which("push-pop")
    return [found] if found else [sys.executable, "-m", "push_pop_client"]


def run(
    server: Any, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value for name, value in os.environ.items() if name != "PUSH_POP_API_TOKEN"
    }
    environment.update({"PUSH_POP_URL": server.url, **(env or {})})
    return subprocess.run(
        [*push_pop_command(), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def test_push_prints_the_new_id_and_pop_prints_the_item(running_server: Any) -> None:
    pushed = run(running_server, "push", "cli-basic", '{"sku": "A-1", "qty": 2}')
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip()
    popped = run(running_server, "pop", "cli-basic")
    assert popped.returncode == 0
    assert json.loads(popped.stdout) == {"sku": "A-1", "qty": 2}


def test_pop_of_an_empty_queue_prints_nothing(running_server: Any) -> None:
    result = run(running_server, "pop", "cli-empty")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_pop_json_of_an_empty_queue_prints_an_empty_list(running_server: Any) -> None:
    result = run(running_server, "pop", "cli-empty", "--json")
    assert result.returncode == 0 and json.loads(result.stdout) == []


def test_a_10000_line_jsonl_file_is_pushed_in_order(running_server: Any, tmp_path: Path) -> None:
    source = tmp_path / "items.jsonl"
    source.write_text("".join(json.dumps({"n": n}) + "\n" for n in range(10_000)))
    result = run(running_server, "push", "cli-bulk", "--file", str(source), "--progress")
    assert result.returncode == 0, result.stderr
    assert "pushed 10000 items" in result.stdout
    assert "10000/10000 100%" in result.stderr
    with PushPopClient(running_server.url) as client:
        queue = client.queue("cli-bulk")
        assert queue.stats().ready == 10_000
        assert [m.item["n"] for m in queue.pop(count=1000)] == list(range(1000))


def test_jsonl_on_stdin_is_pushed_with_json_output(running_server: Any) -> None:
    lines = "".join(json.dumps({"n": n}) + "\n" for n in range(5))
    result = run(running_server, "push", "cli-stdin", "--json", "--batch", "2", stdin=lines)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["items_pushed"] == 5 and len(output["ids"]) == 5


def test_a_malformed_jsonl_line_is_a_usage_error(running_server: Any) -> None:
    result = run(running_server, "push", "cli-malformed", stdin='{"ok": 1}\n{broken\n')
    assert result.returncode == 2
    assert "line 2" in result.stderr


def test_lease_then_ack_by_lock_id(running_server: Any) -> None:
    run(running_server, "push", "cli-lease", '{"n": 1}')
    leased = run(running_server, "lease", "cli-lease", "--ttl", "60", "--json")
    [message] = json.loads(leased.stdout)
    assert message["item"] == {"n": 1} and message["lock_id"]
    acked = run(running_server, "ack", "cli-lease", message["lock_id"])
    assert acked.returncode == 0 and acked.stdout.strip() == "acknowledged 1"


def test_lease_prints_a_table_with_the_lock_id(running_server: Any) -> None:
    run(running_server, "push", "cli-lease-table", '{"n": 1}')
    result = run(running_server, "lease", "cli-lease-table")
    header, row = result.stdout.strip().splitlines()
    assert header.startswith("ID") and "LOCK ID" in header
    assert row.endswith('{"n": 1}')


def test_nack_returns_the_message(running_server: Any) -> None:
    run(running_server, "push", "cli-nack", '{"n": 1}')
    [message] = json.loads(run(running_server, "lease", "cli-nack", "--json").stdout)
    assert run(running_server, "nack", "cli-nack", message["lock_id"]).returncode == 0
    [again] = json.loads(run(running_server, "peek", "cli-nack", "--json").stdout)
    assert again["item"] == {"n": 1} and again["deliveries"] == 1


def test_peek_and_stats_print_readable_tables(running_server: Any) -> None:
    run(running_server, "push", "cli-stats", '{"n": 1}', "--priority", "2")
    peek = run(running_server, "peek", "cli-stats")
    assert peek.stdout.splitlines()[0].split()[:3] == ["ID", "PRIORITY", "DELIVERIES"]
    stats = run(running_server, "stats", "cli-stats")
    assert stats.returncode == 0
    assert stats.stdout.splitlines()[1].split()[:2] == ["cli-stats", "1"]
    assert "PRIORITY" in stats.stdout and "PUSHED" in stats.stdout
    as_json = json.loads(run(running_server, "stats", "cli-stats", "--json").stdout)
    assert as_json["ready"] == 1 and as_json["priorities"][0]["priority"] == 2


def test_dead_letters_redrive_and_purge(running_server: Any) -> None:
    with PushPopClient(running_server.url) as client:
        queue = client.queue("cli-dead")
        queue.push_many([{"n": 1}, {"n": 2}])
        for message in queue.lease(count=2):
            assert message.lock_id is not None
            queue.dead_letter(message.lock_id)
    listed = run(running_server, "dead-letters", "cli-dead", "--json")
    assert [m["dead_letter_reason"] for m in json.loads(listed.stdout)] == ["consumer"] * 2
    assert run(running_server, "redrive", "cli-dead", "-n", "1").stdout.strip() == "redrove 1"
    purged = run(running_server, "purge", "cli-dead", "--dead-letters")
    assert purged.stdout.strip() == "purged 1"
    assert run(running_server, "purge", "cli-dead").stdout.strip() == "purged 1"


def test_an_api_error_exits_1_naming_the_code_and_a_hint(running_server: Any) -> None:
    result = run(running_server, "ack", "cli-errors", "no-such-lock")
    assert result.returncode == 1
    assert "LOCK_NOT_FOUND" in result.stderr and "hint:" in result.stderr


def test_a_missing_token_exits_1_with_a_hint(secured_server: Any, api_token: str) -> None:
    refused = run(secured_server, "stats", "cli-secure")
    assert refused.returncode == 1
    assert "UNAUTHORIZED" in refused.stderr and "PUSH_POP_API_TOKEN" in refused.stderr
    allowed = run(secured_server, "stats", "cli-secure", env={"PUSH_POP_API_TOKEN": api_token})
    assert allowed.returncode == 0, allowed.stderr
    with_flag = run(secured_server, "stats", "cli-secure", "--token", api_token)
    assert with_flag.returncode == 0


def test_an_unreachable_server_exits_3(running_server: Any) -> None:
    result = run(running_server, "stats", "q", "--url", "http://127.0.0.1:9", "--timeout", "2")
    assert result.returncode == 3 and "cannot reach" in result.stderr


def test_bad_usage_exits_2(running_server: Any) -> None:
    assert run(running_server, "pop").returncode == 2
    assert run(running_server, "pop", "bad queue id").returncode == 2
    assert run(running_server, "frobnicate", "q").returncode == 2


def test_help_exits_0(running_server: Any) -> None:
    result = run(running_server, "--help")
    assert result.returncode == 0 and "push" in result.stdout
