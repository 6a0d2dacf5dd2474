"""The agent card: an agent's self-description, and the pieces it is made of."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import A2ABaseModel, WireEnum
from .security import SecurityScheme


class TransportProtocol(WireEnum):
    """The transports named by the A2A spec.

    Card fields holding a transport are plain ``str``, so other names (e.g. ``KAFKA``) fit too.
    """

    jsonrpc = "JSONRPC"
    grpc = "GRPC"
    http_json = "HTTP+JSON"


class AgentProvider(A2ABaseModel):
    """The organization that provides the agent, and its website."""

    organization: str
    url: str


class AgentExtension(A2ABaseModel):
    """A protocol extension the agent supports, identified by ``uri``."""

    uri: str
    description: str | None = None
    required: bool | None = None
    params: dict[str, Any] | None = None


class AgentCapabilities(A2ABaseModel):
    """Optional features the agent supports: streaming, push notifications, extensions."""

    streaming: bool | None = None
    push_notifications: bool | None = None
    state_transition_history: bool | None = None
    extensions: list[AgentExtension] | None = None


class AgentSkill(A2ABaseModel):
    """One thing the agent can do, with tags, examples and optional mode overrides."""

    id: str
    name: str
    description: str
    tags: list[str]
    examples: list[str] | None = None
    input_modes: list[str] | None = None
    output_modes: list[str] | None = None
    security: list[dict[str, list[str]]] | None = None


class AgentInterface(A2ABaseModel):
    """A URL and the transport spoken there (any string, e.g. ``JSONRPC`` or ``KAFKA``)."""

    url: str
    transport: str


class ProtocolInterface(A2ABaseModel):
    """An interface as A2A v1.0 declares it: a URL, its protocol binding and version.

    An extension of the v0.3 card (``supportedInterfaces``, A2A v1.0's ``AgentInterface``):
    ``protocol_binding`` is a transport name (``JSONRPC``, ``GRPC``, ``HTTP+JSON``,
    ``KAFKA``, ...), ``protocol_version`` the A2A version spoken there (``"0.3"``,
    ``"1.0"``), and ``tenant`` an optional routing value callers must send along.
    """

    url: str
    protocol_binding: str
    protocol_version: str
    tenant: str | None = None


class AgentCardSignature(A2ABaseModel):
    """A JSON Web Signature (RFC 7515) over the agent card."""

    protected: str
    signature: str
    header: dict[str, Any] | None = None


def _text_plain() -> list[str]:
    return ["text/plain"]


class AgentCard(A2ABaseModel):
    """An agent's self-describing manifest: identity, endpoint, capabilities, skills, security.

    Only ``name`` is required in Python; the other fields the schema requires get
    defaults that still make a valid card.
    """

    name: str
    description: str = ""
    url: str = ""
    version: str = "1.0.0"
    protocol_version: str = "0.3.0"
    preferred_transport: str = "JSONRPC"
    capabilities: AgentCapabilities = Field(default_factory=AgentCapabilities)
    default_input_modes: list[str] = Field(default_factory=_text_plain)
    default_output_modes: list[str] = Field(default_factory=_text_plain)
    skills: list[AgentSkill] = Field(default_factory=list)
    additional_interfaces: list[AgentInterface] | None = None
    provider: AgentProvider | None = None
    documentation_url: str | None = None
    icon_url: str | None = None
    security_schemes: dict[str, SecurityScheme] | None = None
    security: list[dict[str, list[str]]] | None = None
    signatures: list[AgentCardSignature] | None = None
    supports_authenticated_extended_card: bool | None = None
    supported_interfaces: list[ProtocolInterface] | None = None
    """Extension: the interfaces as A2A v1.0 lists them (first preferred), so that one card
    JSON carries both the v0.3 shape (``url``, ``preferredTransport``,
    ``additionalInterfaces``) and the v1.0 one."""
