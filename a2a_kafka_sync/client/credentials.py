"""The per-call ``credentials`` argument: a string, a provider, None (none), or the client's."""

from __future__ import annotations

from ..auth import CredentialsSource, resolve_credentials
from .timeouts import USE_CLIENT_DEFAULT, _UseClientDefault

__all__ = ["CallCredentials", "credentials_for"]

CallCredentials = CredentialsSource | None | _UseClientDefault
"""What a call's ``credentials`` accepts: ``USE_CLIENT_DEFAULT`` (not passed: the client's
``credentials`` setting), a string or a provider function for this call, or None (no
``authorization`` header on this call)."""


def credentials_for(call: CallCredentials, default: CredentialsSource | None) -> str | None:
    """The ``authorization`` header value of one request (a provider is called now)."""
    return resolve_credentials(default if call is USE_CLIENT_DEFAULT else call)
