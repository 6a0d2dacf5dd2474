"""Signed agent cards: sign_card / verify_card, a2a-sdk interop, and the directory's checks."""

from __future__ import annotations

import base64
import json
import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import a2a.utils.helpers as a2a_helpers
import a2a.utils.signing as a2a_signing  # needs PyJWT: the signing extra, in the test extra
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from helpers import RawKafka

from a2a_kafka_sync import KafkaServerApp, Message, RequestContext
from a2a_kafka_sync.discovery import AgentDirectory, kafka_endpoint, with_kafka_interface
from a2a_kafka_sync.errors import CardSignatureError, ConfigurationError
from a2a_kafka_sync.signing import canonical_card_json, card_signer, sign_card, verify_card
from a2a_kafka_sync.types import AgentCard
from a2a_kafka_sync.types.sdk import from_a2a_sdk, to_a2a_sdk


class KeyPair(NamedTuple):
    private: str  # PEM
    public: str  # PEM
    algorithm: str


def _pem_pair(key: Any, algorithm: str) -> KeyPair:
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private, public.decode(), algorithm)


@pytest.fixture(scope="module")
def ec_key() -> KeyPair:
    return _pem_pair(ec.generate_private_key(ec.SECP256R1()), "ES256")


@pytest.fixture(scope="module")
def rsa_key() -> KeyPair:
    return _pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")


@pytest.fixture(scope="module")
def other_ec_key() -> KeyPair:
    return _pem_pair(ec.generate_private_key(ec.SECP256R1()), "ES256")


@pytest.fixture(params=["ES256", "RS256"])
def key(request: pytest.FixtureRequest, ec_key: KeyPair, rsa_key: KeyPair) -> KeyPair:
    return ec_key if request.param == "ES256" else rsa_key


def _card(name: str = "billing", **fields: Any) -> AgentCard:
    card = AgentCard(name=name, description="bills", **fields)
    return with_kafka_interface(card, "kafka-0:9092", name)


def _signed(card: AgentCard, key: KeyPair, kid: str = "team-1") -> AgentCard:
    return sign_card(card, key.private, key_id=kid, algorithm=key.algorithm)


RICH_CARD = {
    "name": "bïlling ☃",
    "description": "",
    "url": "https://billing.example/a2a",
    "additionalInterfaces": [{"url": "kafka://b:9092/billing", "transport": "KAFKA"}],
    "skills": [{"id": "s", "name": "n", "description": "d", "tags": ["x", ""], "examples": []}],
    "securitySchemes": {
        "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
        "bearer": {"type": "http", "scheme": "bearer"},
    },
    "security": [{"key": []}],
    "capabilities": {"streaming": True, "extensions": [{"uri": "u", "params": {"a": 1.5}}]},
    "provider": {"organization": "Example", "url": "https://example.com"},
}

# -- the canonical form and the JWS, against a2a-sdk 0.3 ----------------------------------------


@pytest.mark.parametrize(
    "card",
    [
        AgentCard(name="minimal"),
        AgentCard.from_wire(RICH_CARD),
        AgentCard(name="defaults", protocol_version="0.3.0", preferred_transport="JSONRPC"),
        AgentCard(name="others", protocol_version="0.2.5", preferred_transport="KAFKA"),
    ],
    ids=["minimal", "rich", "sdk-defaults", "not-defaults"],
)
def test_the_canonical_form_is_byte_for_byte_a2a_sdks(card: AgentCard) -> None:
    expected = a2a_helpers.canonicalize_agent_card(to_a2a_sdk(card)).encode()
    assert canonical_card_json(card) == expected


def test_signing_adds_one_signature_and_leaves_the_card_alone(ec_key: KeyPair) -> None:
    card = _card()
    signed = sign_card(card, ec_key.private, key_id="team-1", jku="https://keys.example/jwks")

    assert card.signatures is None
    assert signed.model_copy(update={"signatures": None}) == card
    [signature] = signed.signatures or []
    header = json.loads(base64.urlsafe_b64decode(signature.protected + "=="))
    assert header == {
        "alg": "ES256",
        "kid": "team-1",
        "typ": "JOSE",
        "jku": "https://keys.example/jwks",
    }
    assert verify_card(signed, {"team-1": ec_key.public}) == "team-1"


@pytest.mark.parametrize("algorithm", ["PS256", "EdDSA", "ES384"])
def test_the_other_public_key_algorithms_sign_and_verify(algorithm: str, rsa_key: KeyPair) -> None:
    if algorithm == "PS256":
        pair = rsa_key._replace(algorithm="PS256")
    elif algorithm == "EdDSA":
        pair = _pem_pair(ed25519.Ed25519PrivateKey.generate(), "EdDSA")
    else:
        pair = _pem_pair(ec.generate_private_key(ec.SECP384R1()), "ES384")
    assert verify_card(_signed(_card(), pair), {"team-1": pair.public}) == "team-1"


def test_a_card_signed_here_verifies_with_a2a_sdk(key: KeyPair) -> None:
    signed = _signed(AgentCard.from_wire(RICH_CARD), key)
    verifier = a2a_signing.create_signature_verifier(lambda kid, jku: key.public, [key.algorithm])
    verifier(to_a2a_sdk(signed))  # raises when no signature verifies


def test_a_card_signed_by_a2a_sdk_verifies_here(key: KeyPair) -> None:
    header = {"kid": "sdk-key", "alg": key.algorithm, "typ": "JOSE"}
    signer = a2a_signing.create_agent_card_signer(key.private, header)
    signed = from_a2a_sdk(signer(to_a2a_sdk(AgentCard.from_wire(RICH_CARD))))
    assert verify_card(signed, {"sdk-key": key.public}) == "sdk-key"


def test_a2a_sdk_refuses_a_card_changed_after_we_signed_it(ec_key: KeyPair) -> None:
    changed = _signed(_card(), ec_key).model_copy(update={"description": "free money"})
    verifier = a2a_signing.create_signature_verifier(lambda kid, jku: ec_key.public, ["ES256"])
    with pytest.raises(a2a_signing.InvalidSignaturesError):
        verifier(to_a2a_sdk(changed))


# -- what verify_card refuses, and why it says ------------------------------------------------


def test_a_field_changed_after_signing_is_refused(key: KeyPair) -> None:
    changed = _signed(_card(), key).model_copy(update={"url": "kafka://evil:9092/steal"})
    with pytest.raises(CardSignatureError, match="does not match the card") as caught:
        verify_card(changed, {"team-1": key.public})
    assert caught.value.agent_name == "billing"
    assert caught.value.problems == [
        "signature 1: kid 'team-1': the signature does not match the card "
        "(changed after signing, or signed with another key)"
    ]


def test_an_unsigned_card_is_refused() -> None:
    with pytest.raises(CardSignatureError, match="'billing' is not signed"):
        verify_card(_card(), {"team-1": "unused"})


def test_an_unknown_key_id_is_refused(ec_key: KeyPair) -> None:
    signed = _signed(_card(), ec_key, kid="stranger")
    with pytest.raises(CardSignatureError, match="kid 'stranger': unknown key id"):
        verify_card(signed, {"team-1": ec_key.public})


def test_a_key_provider_is_asked_by_kid(ec_key: KeyPair) -> None:
    asked: list[str] = []

    def provider(kid: str) -> str:
        asked.append(kid)
        return {"team-1": ec_key.public}[kid]  # KeyError: unknown

    assert verify_card(_signed(_card(), ec_key), provider) == "team-1"
    with pytest.raises(CardSignatureError, match="unknown key id"):
        verify_card(_signed(_card(), ec_key, kid="other"), provider)
    assert asked == ["team-1", "other"]


def test_another_key_under_the_trusted_kid_is_refused(
    ec_key: KeyPair, other_ec_key: KeyPair
) -> None:
    with pytest.raises(CardSignatureError, match="does not match the card"):
        verify_card(_signed(_card(), other_ec_key), {"team-1": ec_key.public})


def test_a_key_of_the_wrong_type_is_refused(ec_key: KeyPair, rsa_key: KeyPair) -> None:
    with pytest.raises(CardSignatureError, match="cannot verify with this key"):
        verify_card(_signed(_card(), ec_key), {"team-1": rsa_key.public})


def test_a_shared_secret_algorithm_is_refused() -> None:
    secret = "a shared secret of at least thirty-two bytes"
    header = {"kid": "team-1", "alg": "HS256", "typ": "JOSE"}
    signed = from_a2a_sdk(a2a_signing.create_agent_card_signer(secret, header)(to_a2a_sdk(_card())))
    with pytest.raises(CardSignatureError, match="unsupported algorithm 'HS256'"):
        verify_card(signed, {"team-1": secret})  # whoever can verify could also sign
    with pytest.raises(ConfigurationError, match="unsupported"):
        sign_card(_card(), "secret", key_id="k", algorithm="HS256")


def test_jwk_keys_sign_and_verify(ec_key: KeyPair) -> None:
    private = serialization.load_pem_private_key(ec_key.private.encode(), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    numbers = private.private_numbers()

    def b64(number: int) -> str:
        return base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode()

    x, y = numbers.public_numbers.x, numbers.public_numbers.y
    public_jwk = {"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)}
    private_jwk = {**public_jwk, "d": b64(numbers.private_value)}

    signed = sign_card(_card(), private_jwk, key_id="jwk-1")
    assert verify_card(signed, {"jwk-1": public_jwk}) == "jwk-1"
    with pytest.raises(CardSignatureError, match="the key is for ES384"):
        verify_card(signed, {"jwk-1": {**public_jwk, "alg": "ES384"}})


def test_one_trusted_signature_of_several_is_enough(
    ec_key: KeyPair, rsa_key: KeyPair, other_ec_key: KeyPair
) -> None:
    rotated = _signed(_signed(_card(), ec_key, kid="old"), rsa_key, kid="new")
    assert verify_card(rotated, {"new": rsa_key.public}) == "new"
    assert verify_card(rotated, {"old": ec_key.public, "new": rsa_key.public}) == "old"
    with pytest.raises(CardSignatureError) as caught:
        verify_card(rotated, {"old": other_ec_key.public})
    assert [p.split(":")[0] for p in caught.value.problems] == ["signature 1", "signature 2"]
    assert "unknown key id" in caught.value.problems[1]


# -- without the extra --------------------------------------------------------------------------


def test_without_pyjwt_a_clear_configuration_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, broker_settings: dict[str, Any], ec_key: KeyPair
) -> None:
    for name in [m for m in sys.modules if m == "jwt" or m.startswith("jwt.")]:
        monkeypatch.setitem(sys.modules, name, None)
    extra = r"a2a-kafka-sync\[signing\]"
    with pytest.raises(ConfigurationError, match=extra):
        sign_card(_card(), ec_key.private, key_id="k")
    with pytest.raises(ConfigurationError, match=extra):
        verify_card(_card(), {"k": ec_key.public})
    with pytest.raises(ConfigurationError, match=extra):
        AgentDirectory(**broker_settings, trusted_keys={"k": ec_key.public})
    AgentDirectory(**broker_settings).close()  # without keys the extra is not needed


def test_trusted_keys_that_do_not_load_are_refused_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="trusted key 'bad'"):
        AgentDirectory("localhost:9092", trusted_keys={"bad": {"kty": "EC", "crv": "nope"}})
    with pytest.raises(ConfigurationError, match="trusted key 'odd'"):
        AgentDirectory("localhost:9092", trusted_keys={"odd": 42})


# -- the directory, on the real broker ----------------------------------------------------------


@pytest.fixture
def directory(
    broker_settings: dict[str, Any], collect_garbage: None
) -> Iterator[Callable[..., AgentDirectory]]:
    """Open AgentDirectory objects on one fresh topic of the test's; closed after."""
    topic = f"test-cards-{uuid.uuid4().hex[:12]}"
    opened: list[AgentDirectory] = []

    def open_directory(**settings: Any) -> AgentDirectory:
        opened.append(AgentDirectory(**{**broker_settings, "topic": topic, **settings}))
        return opened[-1]

    yield open_directory
    for each in opened:
        each.close()


def test_a_signed_card_is_resolved_and_listed_with_the_right_key(directory, key: KeyPair) -> None:
    signed = _signed(_card(), key)
    directory().publish(signed)
    reader = directory(trusted_keys={"team-1": key.public})

    assert reader.resolve("billing") == signed
    assert reader.list() == [signed]


def test_a_card_changed_on_the_topic_is_refused_and_skipped(
    directory, broker_settings: dict[str, Any], ec_key: KeyPair, caplog: pytest.LogCaptureFixture
) -> None:
    writer = directory()
    writer.publish(_signed(_card("search"), ec_key))
    forged = _signed(_card(), ec_key).model_copy(update={"url": "kafka://evil:9092/steal"})
    raw = RawKafka(broker_settings["bootstrap_servers"])
    try:
        raw.send(writer.topic, forged.to_json(), [], key=b"billing")
    finally:
        raw.close()
    reader = directory(trusted_keys={"team-1": ec_key.public})

    with pytest.raises(CardSignatureError, match="does not match the card") as caught:
        reader.resolve("billing")
    assert (caught.value.agent_name, caught.value.topic) == ("billing", reader.topic)
    with caplog.at_level(logging.WARNING, logger="a2a_kafka_sync.discovery"):
        assert [c.name for c in reader.list()] == ["search"]
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "'billing'" in warning and "does not match the card" in warning


def test_a_card_signed_with_an_unknown_key_is_refused(directory, ec_key: KeyPair) -> None:
    directory().publish(_signed(_card(), ec_key, kid="stranger"))
    reader = directory(trusted_keys={"team-1": ec_key.public})
    with pytest.raises(CardSignatureError, match="kid 'stranger': unknown key id"):
        reader.resolve("billing")
    assert reader.list() == []


def test_unsigned_cards_are_refused_only_when_keys_are_configured(
    directory, ec_key: KeyPair, other_ec_key: KeyPair
) -> None:
    writer = directory()
    writer.publish(_card("plain"))
    writer.publish(_signed(_card("forged"), other_ec_key))
    keys = {"team-1": ec_key.public}

    assert [c.name for c in directory().list()] == ["forged", "plain"]
    with pytest.raises(CardSignatureError, match="'plain' is not signed"):
        directory(trusted_keys=keys).resolve("plain")
    assert directory(trusted_keys=keys).list() == []
    lenient = directory(trusted_keys=keys, allow_unsigned=True)
    assert lenient.resolve("plain").name == "plain"
    with pytest.raises(CardSignatureError, match="does not match the card"):
        lenient.resolve("forged")  # a signature there must still verify
    assert [c.name for c in lenient.list()] == ["plain"]


def test_the_directory_signs_what_it_publishes_with_card_signer(
    directory, rsa_key: KeyPair
) -> None:
    signer = card_signer(rsa_key.private, key_id="dir-1", algorithm="RS256")
    directory(card_signer=signer).publish(_card())
    card = directory(trusted_keys={"dir-1": rsa_key.public}).resolve("billing")
    assert len(card.signatures or []) == 1


def test_a_card_signed_by_a2a_sdk_is_resolved_from_the_topic(
    directory, broker_settings: dict[str, Any], ec_key: KeyPair
) -> None:
    signer = a2a_signing.create_agent_card_signer(
        ec_key.private, {"kid": "sdk-key", "alg": "ES256", "typ": "JOSE"}
    )
    sdk_card = signer(to_a2a_sdk(_card()))
    writer = directory()
    writer.publish(_card("search"))  # creates the topic
    raw = RawKafka(broker_settings["bootstrap_servers"])
    try:
        value = sdk_card.model_dump_json(by_alias=True, exclude_none=True).encode()
        raw.send(writer.topic, value, [], key=b"billing")
    finally:
        raw.close()
    assert directory(trusted_keys={"sdk-key": ec_key.public}).resolve("billing").name == "billing"


# -- the server's published card ----------------------------------------------------------------


def echo(message: Message, context: RequestContext) -> str:
    return f"echo: {message.text}"


@pytest.mark.slow
def test_a_server_signs_its_card_as_published(
    serve: Callable[..., KafkaServerApp], directory, topic: str, ec_key: KeyPair
) -> None:
    reader = directory(trusted_keys={"team-1": ec_key.public})
    card = AgentCard(name=f"echo-{uuid.uuid4().hex[:8]}", url="https://echo.example/a2a")
    signer = card_signer(ec_key.private, key_id="team-1")
    serve(echo, agent_card=card, card_topic=reader.topic, card_signer=signer)

    published = reader.resolve(card.name)
    assert kafka_endpoint(published)[1] == topic
    assert len(published.signatures or []) == 1


@pytest.mark.slow
def test_a_server_publishes_a_card_signed_as_given_unaltered(
    serve: Callable[..., KafkaServerApp],
    directory,
    broker_settings: dict[str, Any],
    topic: str,
    ec_key: KeyPair,
) -> None:
    reader = directory(trusted_keys={"team-1": ec_key.public})
    servers = broker_settings["bootstrap_servers"]
    card = AgentCard(name=f"echo-{uuid.uuid4().hex[:8]}", url="https://echo.example/a2a")
    signed = _signed(with_kafka_interface(card, servers, topic), ec_key)
    serve(echo, agent_card=signed, card_topic=reader.topic)

    assert reader.resolve(card.name) == signed


@pytest.mark.slow
def test_a_server_never_breaks_the_signature_of_a_card_without_its_kafka_interface(
    serve: Callable[..., KafkaServerApp],
    directory,
    ec_key: KeyPair,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reader = directory(trusted_keys={"team-1": ec_key.public})
    card = AgentCard(name=f"echo-{uuid.uuid4().hex[:8]}", url="https://echo.example/a2a")
    signed = _signed(card, ec_key)
    with caplog.at_level(logging.WARNING, logger="a2a_kafka_sync.server.app"):
        serve(echo, agent_card=signed, card_topic=reader.topic)

    assert reader.resolve(card.name) == signed  # verified, and as given
    assert "lacks its Kafka interface" in caplog.text
    with pytest.raises(ConfigurationError, match="declares no Kafka interface"):
        kafka_endpoint(signed)
