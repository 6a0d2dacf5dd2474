"""``RequestGuard``: what a request must pass before it is decoded and its handler runs.

In this order, on the worker thread (:class:`~a2a_kafka_sync.server.dispatcher.Dispatcher`):

1. its ``reply_topic`` must be a valid Kafka topic name (and ``reply_partition``, if any,
   not negative) (InvalidRequestError), match ``reply_topic_pattern`` and not be one of the
   server's own topics (ForbiddenError), or nothing is written there: the request is
   dead-lettered;
2. its headers and value must fit ``max_header_bytes`` and ``max_request_bytes``, and its
   ``correlation_id`` :data:`MAX_CORRELATION_ID_LENGTH`, or it is answered with
   RequestTooLargeError (-32042) without being decoded;
3. with an authenticator, its ``authorization`` header must give a principal (or be
   absent, with ``allow_anonymous``), or it is answered with UnauthenticatedError (-32040)
   (or the A2AError the authenticator raised) and the handler never runs;
4. once decoded, the authenticated extended card (``agent_card_get``) is for authenticated
   callers only: with an authenticator, an anonymous caller (``allow_anonymous``) is answered
   UnauthenticatedError (-32040), as A2A asks (the operation "MUST require authentication");
   a push config's URL (a config set, or one sent with a message) must be clean and of a
   known scheme (-32602), and a target the server pushes to
   (:mod:`~a2a_kafka_sync.server.push_targets`): a ``kafka://``
   topic that is the caller's own reply topic or one of ``push_topics``, a webhook that is
   ``https://`` to a public address unless ``allow_insecure_webhooks`` (ForbiddenError, -32041).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from typing import Any

from ..auth import Authenticator, Principal
from ..config import ServerConfig, is_topic_name
from ..errors import (
    A2AError,
    ForbiddenError,
    InvalidRequestError,
    RequestTooLargeError,
    UnauthenticatedError,
)
from ..types import MessageSendParams, TaskPushNotificationConfig
from ..wire import Request, RequestHeaders
from .push_targets import parse_push_url, push_target_error

__all__ = ["MAX_CORRELATION_ID_LENGTH", "RequestGuard"]

logger = logging.getLogger(__name__)


MAX_CORRELATION_ID_LENGTH = 256
"""The longest ``correlation_id`` a server takes (this library sends 32 hex digits, the seed a
36-character UUID). Every cache keyed by it (the reply ledger, the reply-partition cache) is
then bounded by its entry count; a longer one is answered with RequestTooLargeError."""


class RequestGuard:
    """Checks each request's reply topic, size and credentials (see the module docstring).

    Args:
        config: the server's settings (``reply_topic_pattern``, ``max_request_bytes``,
            ``max_header_bytes``, ``allow_anonymous``, and the topics never to write to).
        authenticator: ``authenticator(credentials, headers) -> Principal | None``, or
            None: every request is anonymous (``context.principal`` None).
        own_topics: more topics never to reply to (the task store's topic).
    """

    def __init__(
        self,
        config: ServerConfig,
        authenticator: Authenticator | None = None,
        own_topics: Collection[str] = (),
    ) -> None:
        if authenticator is not None and not callable(authenticator):
            raise TypeError(f"an authenticator must be callable, not {type(authenticator)}")
        self._config = config
        self._authenticator = authenticator
        pattern = config.reply_topic_pattern
        self._pattern = re.compile(pattern) if pattern is not None else None
        self._own = {config.request_topic, *own_topics}
        for topic in (config.dead_letter_topic_name, config.card_topic):
            if topic:
                self._own.add(topic)

    @property
    def authenticates(self) -> bool:
        """True when requests are authenticated (an authenticator is set)."""
        return self._authenticator is not None

    def topic_allowed(self, topic: str) -> bool:
        """True when the server may write replies (or pushes) to ``topic``."""
        if topic in self._own or topic.startswith("__"):
            return False
        return self._pattern is None or self._pattern.fullmatch(topic) is not None

    def route_error(self, headers: RequestHeaders) -> A2AError | None:
        """The error of a request that no reply can reach (it gets none: its record is
        dead-lettered before the handler runs), or None.

        A reply topic that is not a valid Kafka topic name, or a negative
        ``reply_partition``: InvalidRequestError (-32600); a topic this server may not
        write to: ForbiddenError (-32041). Only a request that could be answered is
        checked: one without a correlation id or reply topic is dead-lettered for that
        already (-32600).
        """
        topic = headers.reply_topic
        if topic is None or not headers.answerable:
            return None
        if not is_topic_name(topic):
            return InvalidRequestError(
                f"reply topic {topic[:100]!r} is not a valid Kafka topic name "
                "(1-249 of A-Z a-z 0-9 . _ -)"
            )
        if headers.reply_partition is not None and headers.reply_partition < 0:
            return InvalidRequestError(f"reply_partition {headers.reply_partition} is negative")
        if self.topic_allowed(topic):
            return None
        return ForbiddenError(f"reply topic {topic[:100]!r} is not allowed on this server")

    def size_error(self, record: Any, headers: RequestHeaders | None = None) -> A2AError | None:
        """RequestTooLargeError when the record's headers or value exceed the limits, or its
        ``correlation_id`` is longer than :data:`MAX_CORRELATION_ID_LENGTH`, else None."""
        correlation_id = headers.correlation_id if headers is not None else None
        if correlation_id is not None and len(correlation_id) > MAX_CORRELATION_ID_LENGTH:
            return RequestTooLargeError(
                f"the correlation_id is {len(correlation_id)} characters, over the limit of "
                f"{MAX_CORRELATION_ID_LENGTH}"
            )
        config = self._config
        if config.max_header_bytes is not None:
            size = sum(len(name) + len(value or b"") for name, value in record.headers or ())
            if size > config.max_header_bytes:
                return RequestTooLargeError(
                    f"the request headers are {size} bytes, over this agent's limit of "
                    f"{config.max_header_bytes} (max_header_bytes)"
                )
        if config.max_request_bytes is not None:
            size = len(record.value or b"")
            if size > config.max_request_bytes:
                return RequestTooLargeError(
                    f"the request is {size} bytes, over this agent's limit of "
                    f"{config.max_request_bytes} (max_request_bytes)"
                )
        return None

    def authenticate(self, headers: RequestHeaders) -> Principal | None:
        """The caller's principal; None without an authenticator or for an allowed anonymous
        caller. Raises UnauthenticatedError, or the A2AError the authenticator raised.

        An authenticator that raises anything else refuses the caller; only the
        exception's type is logged (its text could hold the credentials).
        """
        if self._authenticator is None:
            return None
        credentials = headers.authorization
        try:
            principal = self._authenticator(credentials, headers)
        except A2AError:
            raise
        except Exception as exc:
            logger.warning(
                "the authenticator raised %s on request %s: refused",
                type(exc).__name__,
                headers.correlation_id,
            )
            raise UnauthenticatedError("the credentials could not be verified") from None
        if principal is not None:
            if not isinstance(principal, Principal):
                logger.warning("the authenticator returned %s, not a Principal", type(principal))
                raise UnauthenticatedError("the credentials could not be verified")
            return principal
        if credentials is None:
            if self._config.allow_anonymous:
                return None
            raise UnauthenticatedError(
                "authentication required: send credentials in the authorization header"
            )
        raise UnauthenticatedError("invalid credentials")

    def check_request(
        self, request: Request, headers: RequestHeaders, principal: Principal | None = None
    ) -> None:
        """Refuse a decoded request that would make the server write where it must not, or
        an anonymous caller's request for the authenticated extended card (``principal`` is
        the caller's, from :meth:`authenticate`)."""
        if request.method.name == "agent_card_get" and self.authenticates and principal is None:
            raise UnauthenticatedError(
                "the authenticated extended card is for authenticated callers: send "
                "credentials in the authorization header"
            )
        params = request.params
        if isinstance(params, TaskPushNotificationConfig):
            self.check_push_url(params.push_notification_config.url, headers.reply_topic)
        elif isinstance(params, MessageSendParams) and params.configuration is not None:
            config = params.configuration.push_notification_config  # registered with the task
            if config is not None:
                self.check_push_url(config.url, headers.reply_topic)

    def push_topic_allowed(self, topic: str) -> bool:
        """True when a push may be written to ``topic`` (a listed push topic, or one that a
        reply could go to)."""
        listed = topic in self._config.push_topics and topic not in self._own
        return listed or self.topic_allowed(topic)

    def check_push_url(self, url: str, reply_topic: str | None) -> None:
        """Raise InvalidParamsError (-32602) or ForbiddenError (-32041) for a push URL this
        server will not use; ``reply_topic`` is the caller's own."""
        config = self._config
        error = push_target_error(
            parse_push_url(url),
            reply_topic=reply_topic or "",
            push_topics=config.push_topics,
            topic_allowed=self.push_topic_allowed,
            allow_insecure_webhooks=config.allow_insecure_webhooks,
            resolve=False,  # names are resolved before each delivery, not on a worker here
        )
        if error is not None:
            raise error
