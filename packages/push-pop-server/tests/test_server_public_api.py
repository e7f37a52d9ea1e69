"""The public names of push_pop_server change only on purpose."""

from __future__ import annotations

import push_pop_server
import push_pop_server.contract


def test_public_names() -> None:
    assert sorted(push_pop_server.__all__) == [
        "AppState",
        "DaprBackend",
        "EmbeddedBackend",
        "QueueBackend",
        "ServerError",
        "Settings",
        "SettingsError",
        "__version__",
        "create_app",
        "parse_args",
    ]
    for name in push_pop_server.__all__:
        assert hasattr(push_pop_server, name)


def test_contract_module_names() -> None:
    assert sorted(push_pop_server.contract.__all__) == ["CHECKS", "ContractError", "Target"]


def test_version_matches_the_siblings() -> None:
    import push_pop_core

    assert push_pop_server.__version__ == push_pop_core.__version__
