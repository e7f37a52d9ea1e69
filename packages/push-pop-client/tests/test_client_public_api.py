"""The package's public surface changes only on purpose."""

import push_pop_client


PUBLIC_NAMES = """
    AsyncPushPopClient PushPopClient AsyncQueue Queue
    Message PushEntry PushResult QueueStats PriorityStats QueueTotals QueueConfig ConfigChanges
    PushPopError APIStatusError BadRequestError AuthenticationError NotFoundError
    LockNotFoundError LockExpiredError TooLargeError QueueLockedError QueueFullError
    ServerError UnavailableError PushPopConnectionError PushPopTimeoutError
    __version__
""".split()


def test_public_names_are_exactly_these() -> None:
    assert sorted(push_pop_client.__all__) == sorted(PUBLIC_NAMES)


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
