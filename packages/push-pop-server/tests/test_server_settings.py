"""Settings come from defaults, then environment variables, then flags."""

from __future__ import annotations

from pathlib import Path

import pytest
from push_pop_server import Settings, SettingsError, parse_args


def test_defaults_are_loopback_port_8000_embedded() -> None:
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.backend) == ("127.0.0.1", 8000, "embedded")
    assert settings.data_dir == Path("push-pop-data")
    assert settings.max_body_bytes == 16 * 1024 * 1024
    assert settings.api_token is None


def test_environment_variables_are_read() -> None:
    settings = Settings.from_env(
        {
            "PUSH_POP_HOST": "0.0.0.0",
            "PUSH_POP_PORT": "9000",
            "PUSH_POP_DATA_DIR": "/var/lib/push-pop",
            "PUSH_POP_API_TOKEN": "t",
            "PUSH_POP_MAX_BODY_BYTES": "2048",
            "PUSH_POP_LOG_LEVEL": "DEBUG",
            "PUSH_POP_LONG_POLL_INTERVAL": "0.5",
            "PUSH_POP_SHUTDOWN_TIMEOUT": "5",
        }
    )
    assert settings.host == "0.0.0.0"
    assert settings.port == 9000
    assert settings.data_dir == Path("/var/lib/push-pop")
    assert settings.api_token == "t"
    assert settings.max_body_bytes == 2048
    assert settings.log_level == "debug"
    assert settings.long_poll_interval == 0.5
    assert settings.shutdown_timeout == 5


def test_a_sidecar_port_selects_the_dapr_backend() -> None:
    settings = Settings.from_env({"DAPR_HTTP_PORT": "3500", "DAPR_API_TOKEN": "d"})
    assert settings.backend == "dapr"
    assert settings.dapr_http_port == 3500
    assert settings.dapr_api_token == "d"


def test_an_explicit_backend_wins_over_the_sidecar_port() -> None:
    env = {"DAPR_HTTP_PORT": "3500", "PUSH_POP_BACKEND": "embedded"}
    assert Settings.from_env(env).backend == "embedded"


def test_app_port_is_the_fallback_port() -> None:
    assert Settings.from_env({"APP_PORT": "6001"}).port == 6001
    assert Settings.from_env({"APP_PORT": "6001", "PUSH_POP_PORT": "7000"}).port == 7000


def test_empty_variables_count_as_unset() -> None:
    assert Settings.from_env({"PUSH_POP_API_TOKEN": "", "PUSH_POP_PORT": " "}).port == 8000


def test_flags_win_over_the_environment() -> None:
    settings = parse_args(
        ["--host", "0.0.0.0", "--port", "1234", "--data-dir", "d", "--backend", "embedded"],
        {"PUSH_POP_PORT": "9999", "DAPR_HTTP_PORT": "3500"},
    )
    assert (settings.host, settings.port, settings.backend) == ("0.0.0.0", 1234, "embedded")
    assert settings.data_dir == Path("d")


@pytest.mark.parametrize(
    "env",
    [
        {"PUSH_POP_PORT": "eighty"},
        {"PUSH_POP_PORT": "70000"},
        {"PUSH_POP_BACKEND": "redis"},
        {"PUSH_POP_BACKEND": "dapr"},
        {"PUSH_POP_MAX_BODY_BYTES": "10"},
        {"PUSH_POP_LOG_LEVEL": "loud"},
        {"PUSH_POP_LONG_POLL_INTERVAL": "0"},
    ],
)
def test_bad_settings_are_refused_by_name(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_bad_flags_exit_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--backend", "dapr"], {})
    assert exit_info.value.code == 2
    assert "DAPR_HTTP_PORT" in capsys.readouterr().err


def test_tokens_stay_out_of_the_repr() -> None:
    settings = Settings(api_token="very-secret", dapr_api_token="also-secret")
    assert "secret" not in repr(settings)


def test_direct_construction_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAPR_HTTP_PORT", "3500")
    monkeypatch.setenv("PUSH_POP_API_TOKEN", "t")
    settings = Settings(data_dir=Path("x"))
    assert settings.backend == "embedded" and settings.api_token is None
