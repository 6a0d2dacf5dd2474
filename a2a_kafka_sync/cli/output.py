"""How replies, stream events and agent cards look on the terminal."""

from __future__ import annotations

from ..errors import ConfigurationError
from ..interfaces import kafka_endpoint, kafka_url
from ..types import (
    A2ABaseModel,
    AgentCard,
    Message,
    Task,
    TaskArtifactUpdateEvent,
    TaskStatus,
    TaskStatusUpdateEvent,
)

__all__ = ["card_address", "card_lines", "card_table", "event_lines", "json_line", "reply_lines"]


def json_line(model: A2ABaseModel) -> str:
    """``model`` as the A2A JSON the wire carries (camelCase, no nulls), on one line."""
    return model.to_json().decode()


def _message_text(message: Message) -> str:
    if message.text or not message.parts:
        return message.text
    return f"[a message of {len(message.parts)} part(s) without text; --json shows them]"


def _status_line(task_id: str, status: TaskStatus) -> str:
    line = f"task {task_id}: {status.state.value}"
    if status.message is not None and status.message.text:
        line += f" - {status.message.text}"
    return line


def reply_lines(reply: Message | Task) -> list[str]:
    """The lines ``send`` prints: a Message's text; a Task's state, then its artifacts' text."""
    if isinstance(reply, Message):
        return [_message_text(reply)]
    lines = [_status_line(reply.id, reply.status)]
    lines += [artifact.text for artifact in reply.artifacts or [] if artifact.text]
    return lines


def event_lines(
    event: Message | Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent,
) -> list[str]:
    """The lines ``stream`` prints for one event.

    A Message prints its text, a Task or status update its task's state (and the
    status message), an artifact update the text of its chunk; the chunk that only closes
    an artifact (appended, the last, no text) prints nothing.
    """
    if isinstance(event, TaskStatusUpdateEvent):
        return [_status_line(event.task_id, event.status)]
    if isinstance(event, TaskArtifactUpdateEvent):
        text = event.artifact.text
        if not text and event.append and event.last_chunk:
            return []
        return [text]
    return reply_lines(event)


def card_address(card: AgentCard) -> str:
    """The card's ``kafka://`` address, or a note that it declares none."""
    try:
        return kafka_url(*kafka_endpoint(card))
    except ConfigurationError:
        return "(no Kafka interface)"


def card_table(cards: list[AgentCard]) -> list[str]:
    """One line per card, in columns: name, ``kafka://`` address, description."""
    rows = [(card.name, card_address(card), card.description) for card in cards]
    name_width = max((len(name) for name, _, _ in rows), default=0)
    address_width = max((len(address) for _, address, _ in rows), default=0)
    return [
        f"{name:<{name_width}}  {address:<{address_width}}  {description}".rstrip()
        for name, address, description in rows
    ]


def card_lines(card: AgentCard) -> list[str]:
    """What ``card resolve`` prints: the card's main fields, one per line."""
    capabilities = card.capabilities
    fields = [
        ("name", card.name),
        ("description", card.description),
        ("address", card_address(card)),
        ("version", card.version),
        ("transport", card.preferred_transport),
        ("streaming", "yes" if capabilities.streaming else "no"),
        ("push", "yes" if capabilities.push_notifications else "no"),
    ]
    fields += [("skill", f"{skill.id}: {skill.name}") for skill in card.skills]
    return [f"{label:<12}{value}" for label, value in fields if value]
