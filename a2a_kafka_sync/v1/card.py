"""The agent card and its pieces: v0.3 models <-> v1.0 JSON.

v1 lists a card's endpoints as ``supportedInterfaces`` (url, protocolBinding,
protocolVersion, tenant), where v0.3 has ``url`` + ``preferredTransport`` +
``additionalInterfaces`` and one card-wide ``protocolVersion``. Our card carries both
(:attr:`~a2a_kafka_sync.types.AgentCard.supported_interfaces` is the v1 list):

- to v1: ``supported_interfaces`` when set; otherwise the v0.3 endpoints, in order (the
  preferred first, then every additional one), each with the major.minor of the card's
  ``protocolVersion`` (``"0.3"``).
- from v1: ``supported_interfaces`` is the v1 list; the v0.3 endpoints are those of its
  interfaces that speak 0.x (as a2a-sdk's compat layer does): the first gives ``url``,
  ``preferredTransport`` and ``protocolVersion`` (``"0.3"`` read as ``"0.3.0"``), the
  others ``additionalInterfaces``. A card with no 0.x interface keeps v0.3's defaults
  (``url`` empty): v0.3 callers have no endpoint on it.

``capabilities.extendedAgentCard`` (v1) is v0.3's card-level
``supportsAuthenticatedExtendedCard``; v0.3's ``capabilities.stateTransitionHistory``
has no v1 field and is dropped.
"""

from __future__ import annotations

import re
from typing import Any

from ..types import (
    AgentCapabilities,
    AgentCard,
    AgentCardSignature,
    AgentExtension,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    ProtocolInterface,
)
from ._json import V1Object, put
from .security import requirements_from_v1, requirements_to_v1, scheme_from_v1, scheme_to_v1

_MAJOR_MINOR = re.compile(r"(\d+)\.(\d+)(?:\.\d+)?")


def interface_to_v1(interface: ProtocolInterface) -> dict[str, Any]:
    """A ProtocolInterface as a v1 ``AgentInterface``."""
    out: dict[str, Any] = {
        "url": interface.url,
        "protocolBinding": interface.protocol_binding,
        "protocolVersion": interface.protocol_version,
    }
    put(out, "tenant", interface.tenant)
    return out


def interface_from_v1(obj: V1Object) -> ProtocolInterface:
    """A v1 ``AgentInterface`` as a ProtocolInterface."""
    return ProtocolInterface(
        url=obj.req_text("url"),
        protocol_binding=obj.req_text("protocolBinding"),
        protocol_version=obj.req_text("protocolVersion"),
        tenant=obj.text("tenant"),
    )


def interfaces_of(card: AgentCard) -> list[ProtocolInterface]:
    """The v1 interfaces of a card: its ``supported_interfaces``, or its v0.3 endpoints."""
    if card.supported_interfaces is not None:
        return list(card.supported_interfaces)
    match = _MAJOR_MINOR.fullmatch(card.protocol_version)
    if match is None:
        raise ValueError(
            f"AgentCard.protocolVersion {card.protocol_version[:40]!r} is not a version "
            "(major.minor[.patch]) to give its interfaces in v1"
        )
    version = f"{match.group(1)}.{match.group(2)}"
    endpoints = [(card.url, card.preferred_transport)]
    endpoints += [(i.url, i.transport) for i in card.additional_interfaces or ()]
    return [
        ProtocolInterface(url=url, protocol_binding=binding, protocol_version=version)
        for url, binding in endpoints
    ]


def _v03_endpoints(interfaces: list[ProtocolInterface]) -> dict[str, Any]:
    """The v0.3 card fields that name endpoints, from the interfaces speaking 0.x."""
    legacy = [i for i in interfaces if i.protocol_version.split(".")[0] == "0"]
    if not legacy:
        return {}
    first, rest = legacy[0], legacy[1:]
    version = first.protocol_version
    if re.fullmatch(r"\d+\.\d+", version):
        version += ".0"
    return {
        "url": first.url,
        "preferred_transport": first.protocol_binding,
        "protocol_version": version,
        "additional_interfaces": [
            AgentInterface(url=i.url, transport=i.protocol_binding) for i in rest
        ]
        or None,
    }


def extension_to_v1(extension: AgentExtension) -> dict[str, Any]:
    """An AgentExtension as v1's."""
    out: dict[str, Any] = {"uri": extension.uri}
    put(out, "description", extension.description)
    put(out, "required", extension.required)
    put(out, "params", extension.params)
    return out


def extension_from_v1(obj: V1Object) -> AgentExtension:
    """A v1 ``AgentExtension``; its ``uri`` is required here (v0.3 requires it)."""
    return AgentExtension(
        uri=obj.req_text("uri"),
        description=obj.text("description"),
        required=obj.flag("required"),
        params=obj.struct("params"),
    )


def capabilities_to_v1(
    capabilities: AgentCapabilities, extended_card: bool | None = None
) -> dict[str, Any]:
    """AgentCapabilities as v1's; ``extended_card`` is the card's
    ``supportsAuthenticatedExtendedCard``."""
    out: dict[str, Any] = {}
    put(out, "streaming", capabilities.streaming)
    put(out, "pushNotifications", capabilities.push_notifications)
    if capabilities.extensions is not None:
        out["extensions"] = [extension_to_v1(e) for e in capabilities.extensions]
    put(out, "extendedAgentCard", extended_card)
    return out


def capabilities_from_v1(obj: V1Object) -> AgentCapabilities:
    """v1 ``AgentCapabilities`` (without ``extendedAgentCard``, which is the card's)."""
    return AgentCapabilities(
        streaming=obj.flag("streaming"),
        push_notifications=obj.flag("pushNotifications"),
        extensions=[extension_from_v1(e) for e in obj.objs("extensions")]
        if obj.has("extensions")
        else None,
    )


def skill_to_v1(skill: AgentSkill) -> dict[str, Any]:
    """An AgentSkill as v1's (``security`` is ``securityRequirements``)."""
    out: dict[str, Any] = {
        "id": skill.id,
        "name": skill.name,
        "description": skill.description,
        "tags": skill.tags,
    }
    put(out, "examples", skill.examples)
    put(out, "inputModes", skill.input_modes)
    put(out, "outputModes", skill.output_modes)
    if skill.security is not None:
        out["securityRequirements"] = requirements_to_v1(skill.security)
    return out


def skill_from_v1(obj: V1Object) -> AgentSkill:
    """A v1 ``AgentSkill``."""
    return AgentSkill(
        id=obj.req_text("id"),
        name=obj.req_text("name", empty_ok=True),
        description=obj.req_text("description", empty_ok=True),
        tags=obj.texts("tags") or [],
        examples=obj.texts("examples"),
        input_modes=obj.texts("inputModes"),
        output_modes=obj.texts("outputModes"),
        security=requirements_from_v1(obj.objs("securityRequirements"))
        if obj.has("securityRequirements")
        else None,
    )


def provider_to_v1(provider: AgentProvider) -> dict[str, Any]:
    """An AgentProvider as v1's."""
    return {"url": provider.url, "organization": provider.organization}


def provider_from_v1(obj: V1Object) -> AgentProvider:
    """A v1 ``AgentProvider``."""
    return AgentProvider(
        url=obj.req_text("url"), organization=obj.req_text("organization", empty_ok=True)
    )


def signature_to_v1(signature: AgentCardSignature) -> dict[str, Any]:
    """An AgentCardSignature as v1's."""
    out: dict[str, Any] = {"protected": signature.protected, "signature": signature.signature}
    put(out, "header", signature.header)
    return out


def signature_from_v1(obj: V1Object) -> AgentCardSignature:
    """A v1 ``AgentCardSignature``."""
    return AgentCardSignature(
        protected=obj.req_text("protected"),
        signature=obj.req_text("signature"),
        header=obj.struct("header"),
    )


def card_to_v1(card: AgentCard) -> dict[str, Any]:
    """An AgentCard as a v1 ``AgentCard`` (see the module docstring for the interfaces)."""
    out: dict[str, Any] = {
        "name": card.name,
        "description": card.description,
        "supportedInterfaces": [interface_to_v1(i) for i in interfaces_of(card)],
    }
    if card.provider is not None:
        out["provider"] = provider_to_v1(card.provider)
    out["version"] = card.version
    put(out, "documentationUrl", card.documentation_url)
    out["capabilities"] = capabilities_to_v1(
        card.capabilities, card.supports_authenticated_extended_card
    )
    if card.security_schemes is not None:
        out["securitySchemes"] = {k: scheme_to_v1(v) for k, v in card.security_schemes.items()}
    if card.security is not None:
        out["securityRequirements"] = requirements_to_v1(card.security)
    out["defaultInputModes"] = card.default_input_modes
    out["defaultOutputModes"] = card.default_output_modes
    out["skills"] = [skill_to_v1(s) for s in card.skills]
    if card.signatures is not None:
        out["signatures"] = [signature_to_v1(s) for s in card.signatures]
    put(out, "iconUrl", card.icon_url)
    return out


def card_from_v1(obj: V1Object) -> AgentCard:
    """A v1 ``AgentCard`` as ours, with both the v1 and the v0.3 endpoint fields."""
    interfaces = [interface_from_v1(i) for i in obj.objs("supportedInterfaces")]
    capabilities = obj.req_obj("capabilities")
    provider = obj.obj("provider")
    schemes = obj.obj("securitySchemes")
    return AgentCard(
        name=obj.req_text("name", empty_ok=True),
        description=obj.req_text("description", empty_ok=True),
        version=obj.req_text("version", empty_ok=True),
        supported_interfaces=interfaces,
        **_v03_endpoints(interfaces),
        provider=provider_from_v1(provider) if provider else None,
        documentation_url=obj.text("documentationUrl"),
        capabilities=capabilities_from_v1(capabilities),
        supports_authenticated_extended_card=capabilities.flag("extendedAgentCard"),
        security_schemes={
            name: scheme_from_v1(V1Object(value, schemes.at(name)))
            for name, value in schemes.data.items()
        }
        if schemes
        else None,
        security=requirements_from_v1(obj.objs("securityRequirements"))
        if obj.has("securityRequirements")
        else None,
        default_input_modes=obj.texts("defaultInputModes") or [],
        default_output_modes=obj.texts("defaultOutputModes") or [],
        skills=[skill_from_v1(s) for s in obj.objs("skills")],
        signatures=[signature_from_v1(s) for s in obj.objs("signatures")]
        if obj.has("signatures")
        else None,
        icon_url=obj.text("iconUrl"),
    )
