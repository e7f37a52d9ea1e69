"""push-pop-actor: a push-pop queue as a Dapr virtual actor.

Host :class:`PushPopActor` in a FastAPI app with :func:`register_actor`; call it with
:func:`queue_proxy` (or the stock ``ActorProxy`` and :class:`PushPopActorInterface`). Every
operation runs through push-pop-core's ``execute`` over the actor's Dapr state.
"""

from ._abandon import CancelAbandonedCalls
from ._actor import ACTOR_TYPE, PushPopActor, PushPopActorInterface
from ._errors import PushPopActorError, queue_error
from ._hosting import actor_runtime_config, queue_proxy, register_actor
from ._serializer import PlainJSONSerializer
from ._state import ActorStateStore
from ._token import SIDECAR_TOKEN_HEADER, SidecarTokenGuard, require_sidecar_token

__version__ = "0.1.0"

__all__ = [
    "ACTOR_TYPE",
    "SIDECAR_TOKEN_HEADER",
    "ActorStateStore",
    "CancelAbandonedCalls",
    "PlainJSONSerializer",
    "PushPopActor",
    "PushPopActorError",
    "PushPopActorInterface",
    "SidecarTokenGuard",
    "__version__",
    "actor_runtime_config",
    "queue_error",
    "queue_proxy",
    "register_actor",
    "require_sidecar_token",
]
