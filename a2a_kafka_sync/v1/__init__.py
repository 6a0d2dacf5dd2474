"""A2A v1.0 <-> our v0.3 models: the translation layer, pure logic.

The normative v1.0 definition is ``a2a.proto`` (v1.0.1); its JSON form is the protobuf
JSON mapping (lowerCamelCase names, enums by name, Timestamps as RFC 3339, ``oneof`` as
the one field present). Inside the library every object stays a v0.3 model; this package
turns them into v1 JSON at the edge and back. It imports only ``types`` and ``errors``.

What each direction does with the fields only one version has (nothing else is dropped;
a value v1 cannot carry raises ``ValueError`` on the way out, a bad v1 input raises
``InvalidParamsError`` on the way in):

================================  =========================================================
v0.3 only (to v1: dropped)        why
================================  =========================================================
``kind`` (every object)           v1 tells objects apart by field (``oneof``) or by type
``TaskStatusUpdateEvent.final``   v1 closes the stream instead; read back as true at a
                                  terminal or interrupted state (what our server sends)
``AgentCard.protocolVersion``     v1 versions each interface (see ``card``); read back
                                  from the first 0.x interface
``AgentCard.url``,                replaced by ``supportedInterfaces`` when the card has
``preferredTransport``,           them; otherwise they *are* its v1 interfaces
``additionalInterfaces``
``capabilities.                   removed in v1
stateTransitionHistory``
``metadata`` of the params of     v1's GetTask, SubscribeToTask, the push-config get /
get / resubscribe / push get,     list / delete and GetExtendedAgentCard requests have none
list, delete
unknown (extra) fields            not in the proto; v1 parsers refuse unknown fields
================================  =========================================================

================================  =========================================================
v1 only (from v1: kept as)        why
================================  =========================================================
``tenant`` (requests, push        the extra field ``tenant`` of the params model / push
configs, interfaces)              config (``ProtocolInterface.tenant`` for interfaces), sent
                                  back to v1 from there; Kafka routes by topic
``Part.mediaType`` / ``filename`` the file's ``mimeType`` / ``name``; on text and data parts
                                  the extra fields ``mediaType`` / ``filename``
``Part.data`` not an object       ``DataPart(data={"value": x})`` with metadata
                                  ``data_part_compat: true`` (a2a-sdk's compat convention)
``TaskPushNotificationConfig.     extras of the PushNotificationConfig inside
taskId`` in SendMessage config    ``MessageSendConfiguration`` (v1 says leave it empty)
``supportedInterfaces``           ``AgentCard.supported_interfaces`` (an extension)
``extendedAgentCard``             v0.3's ``supportsAuthenticatedExtendedCard``
``pkceRequired``, ``deviceCode``  extra fields of the OAuth flow / flows (``security``)
``ListTasksRequest``,             ``ListTasksParams``, ``TaskPage`` (extensions)
``ListTasksResponse``
list-configs ``pageSize`` /       extra fields of ListTaskPushNotificationConfigParams; the
``pageToken``                     reply's ``nextPageToken`` is dropped (v0.3 has a list)
================================  =========================================================

Values only one side can hold: ``TaskState.unknown`` is ``TASK_STATE_UNSPECIFIED``
(except as a ListTasks filter, where v1 reads it as "no filter": raises);
``ROLE_UNSPECIFIED`` raises; push authentication with other than exactly one scheme
raises; OAuth flows with more than one flow raise; a timestamp without an offset raises;
``blocking`` is ``returnImmediately`` inverted (unset stays unset); a push-config get
without a config id raises (v1 requires it).

Reading v1, fields the proto marks REQUIRED must be there when they are messages or
identifiers (ids, URLs, roles); free text (card / skill ``name``, ``description``,
``version``, provider ``organization``) and the task state may be absent, because
protobuf JSON writers leave out ``""`` and zero enums: they read as ``""`` and
``unknown``. Where v1 cannot tell an empty list from none (``additionalInterfaces``,
a ``false`` a writer left out), the v0.3 side reads back as none.

A request's params are read strictly (``docs/binding.md``, "Strict params"): identifiers
must not be empty (proto3 reads ``""`` as not set), a message needs at least one part,
``historyLength`` is 0 or more and ListTasks' ``pageSize`` 1 or more.
"""

from __future__ import annotations

from .convert import from_v1, to_v1
from .replies import reply_from_v1, reply_to_v1
from .requests import V1_METHODS, request_from_v1, request_to_v1, v1_method_name

PROTOCOL_VERSION = "1.0"
"""The A2A protocol version this package speaks (the ``a2a_version`` header's value)."""

__all__ = [
    "PROTOCOL_VERSION",
    "V1_METHODS",
    "from_v1",
    "reply_from_v1",
    "reply_to_v1",
    "request_from_v1",
    "request_to_v1",
    "to_v1",
    "v1_method_name",
]
