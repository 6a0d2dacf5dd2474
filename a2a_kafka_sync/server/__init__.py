"""The server side: the app, its handlers, tasks and the context a handler receives."""

from .app import KafkaServerApp
from .context import RequestContext
from .default_handler import DefaultRequestHandler
from .handlers import FunctionHandler, RequestHandler
from .tasks import InMemoryTaskStore, TaskStore, TaskUpdater

__all__ = [
    "DefaultRequestHandler",
    "FunctionHandler",
    "InMemoryTaskStore",
    "KafkaServerApp",
    "RequestContext",
    "RequestHandler",
    "TaskStore",
    "TaskUpdater",
]
