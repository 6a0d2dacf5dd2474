"""Signed agent cards: A2A v0.3 ``AgentCardSignature`` (a JWS with a detached payload).

A signature is a JWS (RFC 7515) in compact form, split: ``protected`` (the
base64url header: ``alg``, ``kid``, ``typ: JOSE``, optionally ``jku``) and
``signature``; the payload is left out and rebuilt by the verifier as the
canonical JSON of the card without ``signatures`` (:func:`canonical_card_json`).
The canonical form is a2a-sdk 0.3's (``a2a.utils.helpers.canonicalize_agent_card``),
byte for byte, so cards signed by either verify with the other; see
docs/signed_cards.md for how it differs from plain RFC 8785.

PyJWT does the cryptography. It is an optional extra
(``pip install 'a2a-kafka-sync[signing]'``), imported only when a card is
signed or verified; without it, :class:`~a2a_kafka_sync.errors.ConfigurationError`
names the extra. Keys are never fetched: ``jku`` is carried, not followed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Union

from .errors import CardSignatureError, ConfigurationError
from .types import AgentCard, AgentCardSignature

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "ALGORITHMS",
    "KeyProvider",
    "TrustedKeys",
    "canonical_card_json",
    "card_signer",
    "check_keys",
    "sign_card",
    "verify_card",
]

ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}
)
"""The algorithms a card may be signed and verified with: public-key ones only (no ``HS*``,
no ``none``), so a verifier never holds a secret that could also sign."""

KeyProvider = Callable[[str], Any]
"""``kid -> public key`` (or None when the key id is unknown): e.g. a lookup in a JWKS the
application fetched and refreshes itself."""

TrustedKeys = Union[Mapping[str, Any], KeyProvider]
"""The keys a verifier trusts: ``{kid: key}`` or a :data:`KeyProvider`. A key is a PEM
public key (str or bytes), a JWK (dict), or a ``cryptography`` public key object."""

_EXTRA = "signed agent cards need PyJWT: pip install 'a2a-kafka-sync[signing]'"

# Values a2a-sdk 0.3's models have as defaults: its canonical form leaves them out
# (model_dump(exclude_defaults=True)), so ours must too, to give the same bytes.
_CARD_DEFAULTS = {"protocolVersion": "0.3.0", "preferredTransport": "JSONRPC"}
_SCHEME_TYPES = {"apiKey", "http", "oauth2", "openIdConnect", "mutualTLS"}


def _jwt() -> ModuleType:
    """PyJWT's JWS module, or ConfigurationError naming the extra."""
    try:
        import jwt.algorithms
        import jwt.api_jws

        if not jwt.algorithms.has_crypto:
            raise ImportError("PyJWT without cryptography")
    except ImportError as exc:
        raise ConfigurationError(_EXTRA) from exc
    return jwt


def _drop_empty(value: Any) -> Any:
    """Empty strings, lists and objects removed, recursively (None when nothing is left)."""
    if isinstance(value, dict):
        kept = {k: c for k, v in value.items() if (c := _drop_empty(v)) is not None}
        return kept or None
    if isinstance(value, list):
        items = [c for v in value if (c := _drop_empty(v)) is not None]
        return items or None
    return None if value == "" else value


def canonical_card_json(card: AgentCard) -> bytes:
    """The bytes a card signature covers: the card without ``signatures``, canonical.

    Keys sorted, no whitespace, non-ASCII escaped (``json.dumps`` defaults), null,
    empty and a2a-sdk-default values left out: exactly what a2a-sdk 0.3 signs.
    """
    data = card.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"signatures"})
    for key, default in _CARD_DEFAULTS.items():
        if data.get(key) == default:
            del data[key]
    for scheme in (data.get("securitySchemes") or {}).values():
        if isinstance(scheme, dict) and scheme.get("type") in _SCHEME_TYPES:
            del scheme["type"]
    return json.dumps(_drop_empty(data) or {}, separators=(",", ":"), sort_keys=True).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(value: Any, *, private: bool) -> Any:
    """A PEM (str or bytes) or key object as given; a JWK dict as a cryptography key."""
    if isinstance(value, Mapping):
        jwk = _jwt().PyJWK(dict(value)).key
        if not private and hasattr(jwk, "public_key"):
            jwk = jwk.public_key()  # a private JWK given as a trusted key
        return jwk
    return value


def sign_card(
    card: AgentCard,
    private_key: Any,
    *,
    key_id: str,
    algorithm: str = "ES256",
    jku: str | None = None,
) -> AgentCard:
    """A copy of ``card`` with one more signature, by ``private_key``, as a2a-sdk 0.3 signs.

    Args:
        card: the card as it will be published; any signatures it has are kept,
            so several keys may sign it (key rotation).
        private_key: PEM (str or bytes), a private JWK (dict), or a cryptography key.
        key_id: the ``kid`` verifiers look the public key up by.
        algorithm: one of :data:`ALGORITHMS` (default ES256), matching the key.
        jku: an optional JWKS URL put in the protected header (verifiers here never fetch it).

    Raises ConfigurationError for an unsupported algorithm, a key that does not fit
    it, or without the ``signing`` extra.
    """
    if algorithm not in ALGORITHMS:
        raise ConfigurationError(f"unsupported card signing algorithm {algorithm!r}")
    jwt = _jwt()
    headers = {"kid": key_id, "typ": "JOSE", **({"jku": jku} if jku else {})}
    try:
        token = jwt.api_jws.PyJWS().encode(
            canonical_card_json(card), _key(private_key, private=True), algorithm, headers
        )
    except (jwt.exceptions.PyJWTError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"cannot sign with key {key_id!r} ({algorithm}): {exc}") from exc
    protected, _, signature = token.split(".")
    ours = AgentCardSignature(protected=protected, signature=signature)
    return card.model_copy(update={"signatures": [*(card.signatures or []), ours]}, deep=True)


def card_signer(
    private_key: Any, *, key_id: str, algorithm: str = "ES256", jku: str | None = None
) -> Callable[[AgentCard], AgentCard]:
    """A ``card_signer`` setting: signs a card (dropping its old signatures) with this key.

    For ``ServerConfig.card_signer`` and ``AgentDirectoryConfig.card_signer``, which
    sign the card as published (after its Kafka interface is added). Arguments as
    :func:`sign_card`; the key and algorithm are checked now.
    """
    check = sign_card(AgentCard(name="check"), private_key, key_id=key_id, algorithm=algorithm)
    del check

    def sign(card: AgentCard) -> AgentCard:
        unsigned = card.model_copy(update={"signatures": None})
        return sign_card(unsigned, private_key, key_id=key_id, algorithm=algorithm, jku=jku)

    return sign


def check_keys(keys: TrustedKeys) -> None:
    """Refuse, with ConfigurationError naming the key id, trusted keys that do not load."""
    _jwt()
    if callable(keys):
        return
    for kid, value in keys.items():
        if not isinstance(value, (str, bytes, Mapping)) and not hasattr(value, "verify"):
            raise ConfigurationError(f"trusted key {kid!r}: not a PEM, JWK or public key")
        if isinstance(value, Mapping):
            try:
                _key(value, private=False)
            except Exception as exc:
                raise ConfigurationError(f"trusted key {kid!r}: not a usable JWK: {exc}") from exc


def _header(signature: AgentCardSignature) -> dict[str, Any]:
    try:
        header = json.loads(_unb64(signature.protected))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("its protected header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise ValueError("its protected header is not a JSON object")
    return header


def _check_one(signature: AgentCardSignature, payload: str, keys: TrustedKeys) -> str:
    """The kid of a signature that verifies; ValueError saying why it does not."""
    jwt = _jwt()
    header = _header(signature)
    kid, alg = header.get("kid"), header.get("alg")
    if not isinstance(kid, str) or not kid:
        raise ValueError("it names no key (no kid)")
    if alg not in ALGORITHMS:
        raise ValueError(f"kid {kid!r}: unsupported algorithm {alg!r}")
    if "crit" in header or "b64" in header:
        raise ValueError(f"kid {kid!r}: unsupported header parameters (crit / b64)")
    try:
        trusted = keys(kid) if callable(keys) else keys.get(kid)
    except LookupError:  # a provider may raise KeyError for a kid it does not know
        trusted = None
    if trusted is None:
        raise ValueError(f"kid {kid!r}: unknown key id")
    if isinstance(trusted, Mapping) and trusted.get("alg") not in (None, alg):
        raise ValueError(f"kid {kid!r}: the key is for {trusted['alg']}, the signature {alg}")
    token = f"{signature.protected}.{payload}.{signature.signature}"
    try:
        jwt.api_jws.PyJWS().decode(token, _key(trusted, private=False), algorithms=[alg])
    except jwt.exceptions.InvalidSignatureError as exc:
        raise ValueError(
            f"kid {kid!r}: the signature does not match the card "
            "(changed after signing, or signed with another key)"
        ) from exc
    except (jwt.exceptions.PyJWTError, ValueError, TypeError) as exc:
        raise ValueError(f"kid {kid!r}: cannot verify with this key ({alg}): {exc}") from exc
    return kid


def verify_card(card: AgentCard, keys: TrustedKeys, *, topic: str | None = None) -> str:
    """The key id of the first of the card's signatures that a trusted key verifies.

    Args:
        card: the card, as read (its ``signatures`` and the rest).
        keys: ``{kid: public key}`` or a ``kid -> key | None`` callable (:data:`TrustedKeys`).
        topic: the topic the card came from, carried by the error.

    Raises CardSignatureError, naming the agent and, for each signature, why it
    failed: no signature, no or unknown kid, unsupported algorithm, or a signature
    that does not match the card (changed after signing). ConfigurationError
    without the ``signing`` extra.
    """
    _jwt()
    if not card.signatures:
        raise CardSignatureError(
            f"the card of {card.name!r} is not signed", agent_name=card.name, topic=topic
        )
    payload = _b64(canonical_card_json(card))
    problems = []
    for number, signature in enumerate(card.signatures, start=1):
        try:
            return _check_one(signature, payload, keys)
        except ValueError as exc:
            problems.append(f"signature {number}: {exc}")
    raise CardSignatureError(
        f"no valid signature on the card of {card.name!r}: {'; '.join(problems)}",
        agent_name=card.name,
        problems=problems,
        topic=topic,
    )
