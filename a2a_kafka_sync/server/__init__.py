"""The server side: the app, its handlers and the context a handler receives."""

from .app import KafkaServerApp
from .context import RequestContext
from .handlers import FunctionHandler, RequestHandler

__all__ = ["FunctionHandler", "KafkaServerApp", "RequestContext", "RequestHandler"]
