"""The package's public surface changes only on purpose."""

import push_pop_client

CLIENTS = {"AsyncPushPopClient", "PushPopClient", "AsyncQueue", "Queue", "__version__"}
VALUES = {"Message", "PushEntry", "PushResult", "QueueStats", "PriorityStats", "QueueTotals"}
SETTINGS = {"QueueConfig", "ConfigChanges"}
API_ERRORS = {"APIStatusError", "BadRequestError", "AuthenticationError", "NotFoundError"}
LOCK_ERRORS = {"LockNotFoundError", "LockExpiredError", "QueueLockedError"}
OTHER_ERRORS = {"PushPopError", "TooLargeError", "QueueFullError", "ServerError"}
TRANSPORT_ERRORS = {"UnavailableError", "PushPopConnectionError", "PushPopTimeoutError"}


def test_public_names_are_exactly_these() -> None:
    expected = CLIENTS | VALUES | SETTINGS | API_ERRORS | LOCK_ERRORS | OTHER_ERRORS
    assert sorted(push_pop_client.__all__) == sorted(expected | TRANSPORT_ERRORS)


def test_every_public_name_is_importable() -> None:
    for name in push_pop_client.__all__:
        assert getattr(push_pop_client, name) is not None


def test_every_error_is_a_push_pop_error() -> None:
    errors = [
        getattr(push_pop_client, name) for name in push_pop_client.__all__ if name.endswith("Error")
    ]
    assert all(issubclass(error, push_pop_client.PushPopError) for error in errors)


def test_errors_do_not_shadow_builtins() -> None:
    assert not {"ConnectionError", "TimeoutError"} & set(push_pop_client.__all__)
