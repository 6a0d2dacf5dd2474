"""What a ``message_send`` asks in its ``configuration`` (v0.3 ``MessageSendConfiguration``,
v1.0 ``SendMessageConfiguration``), read once for the default handler.

- ``blocking: false`` (v1.0 ``returnImmediately: true``): answer as soon as the task exists;
  the agent goes on running (:attr:`SendOptions.returns_immediately`);
- ``historyLength``: at most that many of the answered task's latest messages (unset: all;
  0: none; negative: InvalidParamsError, -32602);
- ``pushNotificationConfig`` (v1.0 ``taskPushNotificationConfig``): registered for the task
  before its first update;
- ``acceptedOutputModes`` (``context.accepted_output_modes``): refused with
  ContentTypeNotSupportedError (-32005) when none of them matches an output mode the agent's
  card declares (:func:`output_modes_error`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ContentTypeNotSupportedError, InvalidParamsError
from ..types import AgentCard, MessageSendParams, PushNotificationConfig, Task

__all__ = ["SendOptions", "output_modes_error", "trim_history"]


@dataclass(frozen=True)
class SendOptions:
    """The ``configuration`` of one ``message_send``, checked.

    Attributes:
        returns_immediately: ``blocking`` is false (v1.0 ``returnImmediately`` true): a
            unary call is answered as soon as its task exists.
        history_length: how many of the task's latest messages the answer keeps (None: all).
        push_config: the push config to register for the task, or None.
    """

    returns_immediately: bool = False
    history_length: int | None = None
    push_config: PushNotificationConfig | None = None

    @classmethod
    def of(cls, params: MessageSendParams) -> SendOptions:
        """The options of ``params``; InvalidParamsError (-32602) for a negative
        ``historyLength``."""
        config = params.configuration
        if config is None:
            return cls()
        if config.history_length is not None and config.history_length < 0:
            raise InvalidParamsError(
                f"historyLength must not be negative, not {config.history_length}",
                data={"field": "configuration.historyLength"},
            )
        return cls(
            returns_immediately=config.blocking is False,
            history_length=config.history_length,
            push_config=config.push_notification_config,
        )


def trim_history(task: Task, length: int | None) -> Task:
    """``task`` with at most ``length`` of its latest history messages (None: all of them;
    0 or less: none). Changes ``task`` and returns it."""
    if length is not None and task.history:
        keep = max(0, length)
        task.history = task.history[len(task.history) - keep :] if keep else []
    return task


def output_modes_error(
    card: AgentCard, accepted: tuple[str, ...] | None
) -> ContentTypeNotSupportedError | None:
    """ContentTypeNotSupportedError when the caller accepts none of the output modes the card
    declares (its ``defaultOutputModes`` and its skills' ``outputModes``), else None.

    Media types match without their parameters and case, and with wildcards on either side
    (``text/*``, ``*/*``). A caller that names no modes, or a card that declares none,
    matches anything.
    """
    if not accepted:
        return None
    offered = list(card.default_output_modes or [])
    for skill in card.skills or []:
        offered += skill.output_modes or []
    if not offered or any(_matches(a, o) for a in accepted for o in offered):
        return None
    return ContentTypeNotSupportedError(
        f"agent {card.name} produces none of the accepted output modes "
        f"{', '.join(accepted)} (it declares {', '.join(dict.fromkeys(offered))})",
        data={"acceptedOutputModes": list(accepted), "outputModes": list(dict.fromkeys(offered))},
    )


def _matches(accepted: str, offered: str) -> bool:
    """True when two media ranges overlap (``text/*`` and ``text/plain``, ``*/*`` and any)."""
    a, o = _media_type(accepted), _media_type(offered)
    if len(a) != 2 or len(o) != 2:
        return a == o  # not a type/subtype: the same word, or nothing
    return all(x == y or "*" in (x, y) for x, y in zip(a, o, strict=True))


def _media_type(mode: str) -> tuple[str, ...]:
    """``mode`` without its parameters, lower case, as (type, subtype) when it has both."""
    return tuple(part.strip() for part in mode.split(";", 1)[0].strip().lower().split("/", 1))
