"""The devstack launcher's pure parts: ports, templates, command lines (no Dapr binaries needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from push_pop_actor.devstack import (
    DevStack,
    DevStackError,
    StoreConfig,
    free_ports,
    render_template,
)

COMPONENTS = Path(__file__).resolve().parents[3] / "components"


def stack(tmp_path: Path, **options: Any) -> DevStack:
    return DevStack(
        ["true"],
        workdir=tmp_path,
        components_dir=COMPONENTS,
        binaries={"daprd": Path("/nonexistent/daprd"), "placement": Path("/nonexistent/p")},
        **options,
    )


def test_free_ports_are_distinct() -> None:
    ports = free_ports(50)
    assert len(set(ports)) == 50


def test_every_process_of_a_stack_gets_its_own_port(tmp_path: Path) -> None:
    s = stack(tmp_path, instances=3)
    ports = [s.placement.port, s.placement.healthz_port, s.placement.raft_port]
    ports += [p for i in s.instances for p in i.ports().values()]
    assert len(set(ports)) == len(ports)


def test_render_template_substitutes_placeholders() -> None:
    assert render_template('path: "{{SQLITE_PATH}}"', {"SQLITE_PATH": "/x.db"}) == 'path: "/x.db"'


def test_render_template_rejects_unknown_placeholder() -> None:
    with pytest.raises(DevStackError, match="NOPE"):
        render_template("{{NOPE}}", {})


@pytest.mark.parametrize("store", ["inmemory", "sqlite", "redis", "postgresql"])
def test_resources_render_without_leftover_placeholders(tmp_path: Path, store: str) -> None:
    s = stack(tmp_path, store=store)
    s.write_resources()
    rendered = (s.resources_dir / "statestore.yaml").read_text()
    assert "{{" not in rendered
    assert 'name: actorStateStore\n      value: "true"' in rendered
    assert "{{" not in s.config_path.read_text()


def test_sqlite_store_defaults_to_a_file_in_the_stack_workdir(tmp_path: Path) -> None:
    s = stack(tmp_path, store="sqlite")
    s.write_resources()
    assert str(tmp_path / "state.db") in (s.resources_dir / "statestore.yaml").read_text()


def test_postgres_stacks_get_separate_tables(tmp_path: Path) -> None:
    first = stack(tmp_path / "a", store="postgresql")
    second = stack(tmp_path / "b", store="postgresql")
    assert first.postgres_table != second.postgres_table


def test_daprd_binds_every_listener_to_loopback(tmp_path: Path) -> None:
    s = stack(tmp_path)
    argv = s.daprd_argv(s.instances[0])
    assert argv[argv.index("--placement-host-address") + 1] == f"127.0.0.1:{s.placement.port}"
    for flag in ("--dapr-listen-addresses", "--dapr-internal-grpc-listen-address"):
        assert argv[argv.index(flag) + 1] == "127.0.0.1"


def test_app_environment_points_the_sdk_at_its_own_sidecar(tmp_path: Path) -> None:
    s = stack(tmp_path, instances=2, app_api_token="secret")
    env = s.app_environment(s.instances[1])
    assert env["APP_PORT"] == str(s.instances[1].app_port)
    assert env["DAPR_HTTP_PORT"] == str(s.instances[1].http_port)
    assert env["DAPR_GRPC_ENDPOINT"] == f"127.0.0.1:{s.instances[1].grpc_port}"
    assert env["APP_API_TOKEN"] == "secret"


def test_start_without_binaries_names_the_build_script(tmp_path: Path) -> None:
    with pytest.raises(DevStackError, match=r"build\.py"):
        stack(tmp_path).start()


def test_store_config_rejects_unknown_store(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown store"):
        stack(tmp_path, store=StoreConfig(name="mongo"))  # type: ignore[arg-type]
