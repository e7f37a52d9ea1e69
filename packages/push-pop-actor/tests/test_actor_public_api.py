"""The package's public surface changes only on purpose."""

import push_pop_actor


def test_public_names_are_exactly_these() -> None:
    assert sorted(push_pop_actor.__all__) == [
        "ACTOR_TYPE",
        "ActorStateStore",
        "CancelAbandonedCalls",
        "PlainJSONSerializer",
        "PushPopActor",
        "PushPopActorError",
        "PushPopActorInterface",
        "SIDECAR_TOKEN_HEADER",
        "SidecarTokenGuard",
        "__version__",
        "actor_runtime_config",
        "queue_error",
        "queue_proxy",
        "register_actor",
        "require_sidecar_token",
    ]


def test_every_public_name_is_importable() -> None:
    for name in push_pop_actor.__all__:
        assert getattr(push_pop_actor, name) is not None


def test_actor_type_is_the_original_librarys() -> None:
    assert push_pop_actor.ACTOR_TYPE == push_pop_actor.PushPopActor.__name__ == "PushPopActor"
