"""Parts: the pieces of content carried by messages and artifacts."""

from __future__ import annotations

import base64
import builtins
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, TypeAdapter

from ._base import A2ABaseModel


class TextPart(A2ABaseModel):
    """A plain-text segment: ``{"kind": "text", "text": ...}``."""

    kind: Literal["text"] = "text"
    text: str
    metadata: dict[str, Any] | None = None


class FileWithBytes(A2ABaseModel):
    """A file whose content travels inline as base64 text in ``bytes``."""

    bytes: str
    mime_type: str | None = None
    name: str | None = None

    @classmethod
    def from_bytes(
        cls,
        data: builtins.bytes,
        *,
        mime_type: str | None = None,
        name: str | None = None,
    ) -> FileWithBytes:
        """Build a file from raw content, base64-encoding it."""
        encoded = base64.b64encode(data).decode("ascii")
        return cls(bytes=encoded, mime_type=mime_type, name=name)

    def to_bytes(self) -> builtins.bytes:
        """Return the decoded raw content."""
        return base64.b64decode(self.bytes)


class FileWithUri(A2ABaseModel):
    """A file whose content is found at ``uri``."""

    uri: str
    mime_type: str | None = None
    name: str | None = None


def _file_variant(value: Any) -> str:
    """Tell the two file shapes apart by which content key is present."""
    if isinstance(value, dict):
        return "bytes" if "bytes" in value else "uri"
    return "bytes" if isinstance(value, FileWithBytes) else "uri"


_File = Annotated[
    Annotated[FileWithBytes, Tag("bytes")] | Annotated[FileWithUri, Tag("uri")],
    Discriminator(_file_variant),
]


class FilePart(A2ABaseModel):
    """A file segment: ``{"kind": "file", "file": {...bytes or uri...}}``."""

    kind: Literal["file"] = "file"
    file: _File
    metadata: dict[str, Any] | None = None


class DataPart(A2ABaseModel):
    """A structured JSON object segment: ``{"kind": "data", "data": {...}}``."""

    kind: Literal["data"] = "data"
    data: dict[str, Any]
    metadata: dict[str, Any] | None = None


Part = Annotated[TextPart | FilePart | DataPart, Field(discriminator="kind")]
"""Any part, chosen on the wire by its ``kind``."""

PART_ADAPTER: TypeAdapter[Part] = TypeAdapter(Part)
"""Validates a single part from a dict (``PART_ADAPTER.validate_python(...)``)."""
