"""``A2AErrorMiddleware``: a library error raised in a view becomes an HTTP error response."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse  # type: ignore[import-untyped]

from ...errors import A2AKafkaError
from .. import error_body, http_status

__all__ = ["A2AErrorMiddleware"]

logger = logging.getLogger(__name__)


class A2AErrorMiddleware:
    """Answers an :class:`~a2a_kafka_sync.errors.A2AKafkaError` raised by a view with JSON.

    Add ``"a2a_kafka_sync.contrib.django.middleware.A2AErrorMiddleware"`` to
    ``MIDDLEWARE``. The status is :func:`~a2a_kafka_sync.contrib.http_status`'s
    (400 for the agent's InvalidParamsError, 504 for a timeout, 503 when Kafka
    cannot be reached...), the body :func:`~a2a_kafka_sync.contrib.error_body`'s.
    5xx errors are logged with their traceback. Other exceptions are left to Django.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Pass the request on (the work is in :meth:`process_exception`)."""
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        """A JsonResponse for a library error, None (Django's handling) for anything else."""
        if not isinstance(exception, A2AKafkaError):
            return None
        status = http_status(exception)
        if status >= 500:
            logger.error("A2A call failed in %s: %s", request.path, exception, exc_info=exception)
        return JsonResponse(error_body(exception), status=status)
