"""Property-based requests generated from /openapi.json (schemathesis): valid and invalid
input alike must never get a 5xx, and every answer must match the published schema."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from push_pop_server import Settings, create_app
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
]


# The schema is loaded at import (schemathesis parametrizes at collection), so the app's data
# directory cannot be a pytest tmp_path.
_DATA = Path(tempfile.mkdtemp(prefix="push-pop-schemathesis-"))
atexit.register(shutil.rmtree, _DATA, ignore_errors=True)
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings(data_dir=_DATA)))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_no_5xx_and_match_the_schema(case: Any) -> None:
    if isinstance(case.query, dict) and isinstance(case.query.get("wait_seconds"), int):
        case.query["wait_seconds"] = 0  # a valid long poll would only make the run slow
    case.call_and_validate(checks=CHECKS)
