"""Security schemes an agent card can declare (OpenAPI 3.0 style), told apart by ``type``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from ._base import A2ABaseModel


class APIKeySecurityScheme(A2ABaseModel):
    """An API key sent in a header, query parameter or cookie (``type: apiKey``)."""

    type: Literal["apiKey"] = "apiKey"
    name: str
    """The name of the header, query parameter or cookie."""
    in_: Literal["cookie", "header", "query"] = Field(alias="in")
    """Where the key goes; ``in`` on the wire."""
    description: str | None = None


class HTTPAuthSecurityScheme(A2ABaseModel):
    """HTTP authentication such as ``Bearer`` or ``Basic`` (``type: http``)."""

    type: Literal["http"] = "http"
    scheme: str
    bearer_format: str | None = None
    description: str | None = None


class AuthorizationCodeOAuthFlow(A2ABaseModel):
    """Settings of the OAuth 2.0 authorization code flow."""

    authorization_url: str
    token_url: str
    scopes: dict[str, str]
    refresh_url: str | None = None


class ClientCredentialsOAuthFlow(A2ABaseModel):
    """Settings of the OAuth 2.0 client credentials flow."""

    token_url: str
    scopes: dict[str, str]
    refresh_url: str | None = None


class ImplicitOAuthFlow(A2ABaseModel):
    """Settings of the OAuth 2.0 implicit flow."""

    authorization_url: str
    scopes: dict[str, str]
    refresh_url: str | None = None


class PasswordOAuthFlow(A2ABaseModel):
    """Settings of the OAuth 2.0 resource owner password flow."""

    token_url: str
    scopes: dict[str, str]
    refresh_url: str | None = None


class OAuthFlows(A2ABaseModel):
    """The OAuth 2.0 flows a scheme supports; set the ones that apply."""

    authorization_code: AuthorizationCodeOAuthFlow | None = None
    client_credentials: ClientCredentialsOAuthFlow | None = None
    implicit: ImplicitOAuthFlow | None = None
    password: PasswordOAuthFlow | None = None


class OAuth2SecurityScheme(A2ABaseModel):
    """OAuth 2.0 with the given flows (``type: oauth2``)."""

    type: Literal["oauth2"] = "oauth2"
    flows: OAuthFlows
    oauth2_metadata_url: str | None = None
    description: str | None = None


class OpenIdConnectSecurityScheme(A2ABaseModel):
    """OpenID Connect discovery at ``openIdConnectUrl`` (``type: openIdConnect``)."""

    type: Literal["openIdConnect"] = "openIdConnect"
    open_id_connect_url: str
    description: str | None = None


class MutualTLSSecurityScheme(A2ABaseModel):
    """Mutual TLS with client certificates (``type: mutualTLS``)."""

    type: Literal["mutualTLS"] = "mutualTLS"
    description: str | None = None


SecurityScheme = Annotated[
    APIKeySecurityScheme
    | HTTPAuthSecurityScheme
    | OAuth2SecurityScheme
    | OpenIdConnectSecurityScheme
    | MutualTLSSecurityScheme,
    Field(discriminator="type"),
]
"""Any security scheme, chosen on the wire by its ``type``."""

SECURITY_SCHEME_ADAPTER: TypeAdapter[SecurityScheme] = TypeAdapter(SecurityScheme)
"""Validates a single security scheme from a dict or JSON."""
