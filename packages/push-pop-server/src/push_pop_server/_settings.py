"""The server's settings: one frozen dataclass, built from defaults, environment and flags.

Flags win over environment variables, which win over defaults. :meth:`Settings.from_env` is
what ``create_app()`` uses when given nothing; constructing ``Settings(...)`` directly ignores
the environment (tests and embedding applications say exactly what they want).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from ._exceptions import SettingsError

__all__ = ["Backend", "Settings", "parse_args"]

Backend = Literal["embedded", "dapr"]
BACKENDS: tuple[Backend, ...] = ("embedded", "dapr")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server can be told; see docs/SERVER.md for the table."""

    host: str = "127.0.0.1"
    port: int = 8000
    backend: Backend = "embedded"
    data_dir: Path = Path("push-pop-data")
    api_token: str | None = field(default=None, repr=False)
    """``Authorization: Bearer`` token required on every ``/queue/...`` route (None: open)."""
    max_body_bytes: int = 16 * MIB
    log_level: str = "info"
    long_poll_interval: float = 1.0
    """Seconds between re-checks of a waiting pop, for pushes made through other instances."""
    shutdown_timeout: int = 30
    """Seconds in-flight requests get to finish on SIGTERM before they are cancelled."""
    dapr_http_port: int | None = None
    dapr_api_token: str | None = field(default=None, repr=False)
    """Sent to the sidecar as ``dapr-api-token`` (``DAPR_API_TOKEN``)."""
    dapr_timeout: float = 30.0
    """Seconds one actor call through the sidecar may take before it answers 503."""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise SettingsError(f"backend must be one of {', '.join(BACKENDS)}: {self.backend!r}")
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port must be 0-65535: {self.port}")
        if self.max_body_bytes < 1024:
            raise SettingsError(f"max_body_bytes must be at least 1024: {self.max_body_bytes}")
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
        if not 0.05 <= self.long_poll_interval <= 60:
            raise SettingsError("long_poll_interval must be between 0.05 and 60 seconds")
        if self.shutdown_timeout < 0 or self.dapr_timeout <= 0:
            raise SettingsError("timeouts must be positive")
        if self.backend == "dapr" and self.dapr_http_port is None:
            raise SettingsError("the dapr backend needs the sidecar's port (DAPR_HTTP_PORT)")
        object.__setattr__(self, "data_dir", Path(self.data_dir))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``PUSH_POP_*`` and Dapr's variables, then ``overrides`` on top."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, (variable, convert) in _ENV.items():
            raw = env.get(variable, "").strip()
            if raw:
                values[name] = _convert(variable, raw, convert)
        if "port" not in values and env.get("APP_PORT", "").strip():
            # The port Dapr (`dapr run --app-port`, the devstack) tells its app to listen on.
            values["port"] = _convert("APP_PORT", env["APP_PORT"].strip(), int)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "backend" not in values:
            values["backend"] = "dapr" if values.get("dapr_http_port") else "embedded"
        return cls(**values)


def _convert(variable: str, raw: str, convert: type) -> Any:
    try:
        return convert(raw)
    except ValueError:
        raise SettingsError(f"{variable}={raw!r} is not a valid {convert.__name__}") from None


def _level(raw: str) -> str:
    return raw.lower()


_ENV: dict[str, tuple[str, Any]] = {
    "host": ("PUSH_POP_HOST", str),
    "port": ("PUSH_POP_PORT", int),
    "backend": ("PUSH_POP_BACKEND", str),
    "data_dir": ("PUSH_POP_DATA_DIR", Path),
    "api_token": ("PUSH_POP_API_TOKEN", str),
    "max_body_bytes": ("PUSH_POP_MAX_BODY_BYTES", int),
    "log_level": ("PUSH_POP_LOG_LEVEL", _level),
    "long_poll_interval": ("PUSH_POP_LONG_POLL_INTERVAL", float),
    "shutdown_timeout": ("PUSH_POP_SHUTDOWN_TIMEOUT", int),
    "dapr_http_port": ("DAPR_HTTP_PORT", int),
    "dapr_api_token": ("DAPR_API_TOKEN", str),
    "dapr_timeout": ("PUSH_POP_DAPR_TIMEOUT", float),
}
assert set(_ENV) == {f.name for f in fields(Settings)}


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from command-line flags over the environment (``push-pop-server --help``)."""
    parser = argparse.ArgumentParser(
        prog="push-pop-server",
        description="Serve the push-pop REST API (embedded SQLite, or Dapr actors).",
        epilog="Every flag has an environment variable; see docs/SERVER.md. "
        "The API token is read from PUSH_POP_API_TOKEN only, never from a flag.",
    )
    parser.add_argument(
        "--host", help="interface to bind (PUSH_POP_HOST; default 127.0.0.1, 0.0.0.0 in containers)"
    )
    parser.add_argument(
        "--port", type=int, help="TCP port (PUSH_POP_PORT, else APP_PORT; default 8000)"
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="PUSH_POP_BACKEND; default dapr when DAPR_HTTP_PORT is set, else embedded",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="embedded store directory (PUSH_POP_DATA_DIR; default ./push-pop-data)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        help="largest request body (PUSH_POP_MAX_BODY_BYTES; default 16 MiB)",
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS, help="PUSH_POP_LOG_LEVEL; default info")
    parser.add_argument(
        "--long-poll-interval",
        type=float,
        help="seconds between re-checks of a waiting pop (PUSH_POP_LONG_POLL_INTERVAL; default 1)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=int,
        help="seconds in-flight requests get on shutdown (PUSH_POP_SHUTDOWN_TIMEOUT; default 30)",
    )
    parser.add_argument(
        "--dapr-timeout",
        type=float,
        help="seconds per actor call through the sidecar (PUSH_POP_DAPR_TIMEOUT; default 30)",
    )
    args = parser.parse_args(argv)
    try:
        return Settings.from_env(environ, **vars(args))
    except SettingsError as exc:
        parser.error(str(exc))
