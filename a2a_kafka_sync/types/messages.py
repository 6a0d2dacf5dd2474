"""Messages: one turn of conversation between a user and an agent."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ._base import A2ABaseModel, WireEnum, new_id
from ._wire import PARTS_RULE, Identifier, WireRequired
from .parts import Part, TextPart


class Role(WireEnum):
    """Who sent a message: ``user`` (the client) or ``agent`` (the service)."""

    user = "user"
    agent = "agent"


class Message(A2ABaseModel):
    """A single message: a role and a list of parts, with a sender-chosen ``messageId``.

    ``message_id`` defaults to a fresh random id. Read from a request
    (:meth:`~a2a_kafka_sync.types.A2ABaseModel.from_request`) nothing is defaulted:
    ``kind`` and a non-empty ``messageId`` must be there, and at least one part.
    """

    kind: Annotated[Literal["message"], WireRequired] = "message"
    role: Role
    parts: Annotated[list[Part], PARTS_RULE]
    message_id: Annotated[Identifier, WireRequired] = Field(default_factory=new_id)
    context_id: str | None = None
    task_id: str | None = None
    reference_task_ids: list[str] | None = None
    extensions: list[str] | None = None
    metadata: dict[str, Any] | None = None

    @classmethod
    def user_text(cls, text: str, **fields: Any) -> Message:
        """Build a user message with one text part; ``fields`` set other attributes."""
        return cls(role=Role.user, parts=[TextPart(text=text)], **fields)

    @classmethod
    def agent_text(cls, text: str, **fields: Any) -> Message:
        """Build an agent message with one text part; ``fields`` set other attributes."""
        return cls(role=Role.agent, parts=[TextPart(text=text)], **fields)

    @property
    def text(self) -> str:
        """The text of all text parts, joined with newlines ("" if there are none)."""
        return "\n".join(part.text for part in self.parts if isinstance(part, TextPart))
