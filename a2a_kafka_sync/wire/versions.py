"""The A2A protocol versions of the wire: those spoken, and the one a request names.

A request's ``a2a_version`` header names its version (absent means 0.3); a server
answers in the version of the request, and refuses any other with -32009.
"""

from __future__ import annotations

from ..errors import VersionNotSupportedError

__all__ = ["SUPPORTED_VERSIONS", "V0_3", "V1_0", "version_of"]

V0_3 = "0.3"
V1_0 = "1.0"
SUPPORTED_VERSIONS = (V0_3, V1_0)
"""The A2A protocol versions (``Major.Minor``) a server answers in, and a client can speak."""


def version_of(text: str | None) -> str:
    """The supported ``Major.Minor`` version a request's ``a2a_version`` header names.

    Absent (or empty) means 0.3, as A2A says of a missing ``A2A-Version``; a patch
    level is ignored (``1.0.1`` is 1.0). Raises VersionNotSupportedError (-32009)
    for any other version.
    """
    if not text:
        return V0_3
    major_minor = ".".join(text.strip().split(".")[:2])
    if major_minor in SUPPORTED_VERSIONS:
        return major_minor
    raise VersionNotSupportedError(
        f"A2A version {text[:20]!r} is not supported; supported: {', '.join(SUPPORTED_VERSIONS)}",
        data={"supportedVersions": list(SUPPORTED_VERSIONS)},
    )
