"""Security schemes, OAuth flows and security requirements: v0.3 models <-> v1.0 JSON.

v1 wraps each scheme in a ``SecurityScheme`` oneof (``apiKeySecurityScheme``,
``httpAuthSecurityScheme``, ``oauth2SecurityScheme``, ``openIdConnectSecurityScheme``,
``mtlsSecurityScheme``) where v0.3 tells them apart by ``type``; v1's ``OAuthFlows`` is a
oneof too, so a v0.3 scheme with several flows cannot be sent as v1 and raises. v1's
device-code flow and ``pkceRequired`` have no v0.3 field: they are kept as the extra
fields ``deviceCode`` (of OAuthFlows) and ``pkceRequired`` (of the authorization code
flow), and sent back to v1 from there.
"""

from __future__ import annotations

from typing import Any

from ..types import (
    APIKeySecurityScheme,
    AuthorizationCodeOAuthFlow,
    ClientCredentialsOAuthFlow,
    HTTPAuthSecurityScheme,
    ImplicitOAuthFlow,
    MutualTLSSecurityScheme,
    OAuth2SecurityScheme,
    OAuthFlows,
    OpenIdConnectSecurityScheme,
    PasswordOAuthFlow,
    SecurityScheme,
)
from ._json import V1Object, extra, put

_API_KEY_LOCATIONS = ("cookie", "header", "query")

_SCHEME_KEYS = {
    APIKeySecurityScheme: "apiKeySecurityScheme",
    HTTPAuthSecurityScheme: "httpAuthSecurityScheme",
    OAuth2SecurityScheme: "oauth2SecurityScheme",
    OpenIdConnectSecurityScheme: "openIdConnectSecurityScheme",
    MutualTLSSecurityScheme: "mtlsSecurityScheme",
}


def scheme_to_v1(scheme: SecurityScheme) -> dict[str, Any]:
    """A v0.3 security scheme as a v1 ``SecurityScheme`` (its oneof wrapper)."""
    body: dict[str, Any] = {}
    put(body, "description", scheme.description)
    if isinstance(scheme, APIKeySecurityScheme):
        body.update(location=scheme.in_, name=scheme.name)
    elif isinstance(scheme, HTTPAuthSecurityScheme):
        body["scheme"] = scheme.scheme
        put(body, "bearerFormat", scheme.bearer_format)
    elif isinstance(scheme, OAuth2SecurityScheme):
        body["flows"] = flows_to_v1(scheme.flows)
        put(body, "oauth2MetadataUrl", scheme.oauth2_metadata_url)
    elif isinstance(scheme, OpenIdConnectSecurityScheme):
        body["openIdConnectUrl"] = scheme.open_id_connect_url
    return {_SCHEME_KEYS[type(scheme)]: body}


def scheme_from_v1(obj: V1Object) -> SecurityScheme:
    """A v1 ``SecurityScheme`` as the v0.3 scheme of the one variant it holds."""
    which = obj.oneof(tuple(_SCHEME_KEYS.values()), "a SecurityScheme")
    body = obj.req_obj(which)
    description = body.text("description")
    if which == "apiKeySecurityScheme":
        location = body.req_text("location")
        if location not in _API_KEY_LOCATIONS:
            body.fail(
                "location", f"{location[:40]!r} is not one of {', '.join(_API_KEY_LOCATIONS)}"
            )
        return APIKeySecurityScheme.model_validate(
            {"name": body.req_text("name"), "in": location, "description": description}
        )
    if which == "httpAuthSecurityScheme":
        return HTTPAuthSecurityScheme(
            scheme=body.req_text("scheme"),
            bearer_format=body.text("bearerFormat"),
            description=description,
        )
    if which == "oauth2SecurityScheme":
        return OAuth2SecurityScheme(
            flows=flows_from_v1(body.req_obj("flows")),
            oauth2_metadata_url=body.text("oauth2MetadataUrl"),
            description=description,
        )
    if which == "openIdConnectSecurityScheme":
        return OpenIdConnectSecurityScheme(
            open_id_connect_url=body.req_text("openIdConnectUrl"), description=description
        )
    return MutualTLSSecurityScheme(description=description)


def flows_to_v1(flows: OAuthFlows) -> dict[str, Any]:
    """v0.3 OAuthFlows as v1's, which holds one flow at most; several raise ValueError."""
    out: dict[str, Any] = {}
    if flows.authorization_code is not None:
        code = flows.authorization_code
        body: dict[str, Any] = {
            "authorizationUrl": code.authorization_url,
            "tokenUrl": code.token_url,
        }
        put(body, "refreshUrl", code.refresh_url)
        body["scopes"] = code.scopes
        put(body, "pkceRequired", extra(code, "pkceRequired"))
        out["authorizationCode"] = body
    if flows.client_credentials is not None:
        out["clientCredentials"] = _token_flow(flows.client_credentials)
    if flows.implicit is not None:
        body = {"authorizationUrl": flows.implicit.authorization_url}
        put(body, "refreshUrl", flows.implicit.refresh_url)
        body["scopes"] = flows.implicit.scopes
        out["implicit"] = body
    if flows.password is not None:
        out["password"] = _token_flow(flows.password)
    device = extra(flows, "deviceCode")
    if device is not None:
        out["deviceCode"] = device
    if len(out) > 1:
        raise ValueError(
            "v1 OAuthFlows holds a single flow; this scheme has " + ", ".join(sorted(out))
        )
    return out


def _token_flow(flow: ClientCredentialsOAuthFlow | PasswordOAuthFlow) -> dict[str, Any]:
    body: dict[str, Any] = {"tokenUrl": flow.token_url}
    put(body, "refreshUrl", flow.refresh_url)
    body["scopes"] = flow.scopes
    return body


def flows_from_v1(obj: V1Object) -> OAuthFlows:
    """v1 OAuthFlows (one flow) as ours; a device-code flow is kept as the extra ``deviceCode``."""
    names = ("authorizationCode", "clientCredentials", "implicit", "password", "deviceCode")
    if not any(obj.has(name) for name in names):
        return OAuthFlows()
    which = obj.oneof(names, "OAuthFlows")
    flow = obj.req_obj(which)
    refresh = flow.text("refreshUrl")
    scopes = flow.str_map("scopes")
    if which == "authorizationCode":
        pkce = flow.flag("pkceRequired")
        code = AuthorizationCodeOAuthFlow(
            authorization_url=flow.req_text("authorizationUrl"),
            token_url=flow.req_text("tokenUrl"),
            refresh_url=refresh,
            scopes=scopes,
            **({} if pkce is None else {"pkceRequired": pkce}),
        )
        return OAuthFlows(authorization_code=code)
    if which == "clientCredentials":
        token = flow.req_text("tokenUrl")
        return OAuthFlows(
            client_credentials=ClientCredentialsOAuthFlow(
                token_url=token, refresh_url=refresh, scopes=scopes
            )
        )
    if which == "implicit":
        implicit = ImplicitOAuthFlow(
            authorization_url=flow.req_text("authorizationUrl"), refresh_url=refresh, scopes=scopes
        )
        return OAuthFlows(implicit=implicit)
    if which == "password":
        password = PasswordOAuthFlow(
            token_url=flow.req_text("tokenUrl"), refresh_url=refresh, scopes=scopes
        )
        return OAuthFlows(password=password)
    device: dict[str, Any] = {
        "deviceAuthorizationUrl": flow.req_text("deviceAuthorizationUrl"),
        "tokenUrl": flow.req_text("tokenUrl"),
    }
    put(device, "refreshUrl", refresh)
    device["scopes"] = scopes
    return OAuthFlows.model_validate({"deviceCode": device})


def requirements_to_v1(security: list[dict[str, list[str]]]) -> list[dict[str, Any]]:
    """v0.3 security requirements (name -> scopes) as v1 ``SecurityRequirement``s."""
    return [
        {"schemes": {name: {"list": list(scopes)} for name, scopes in requirement.items()}}
        for requirement in security
    ]


def requirements_from_v1(items: list[V1Object]) -> list[dict[str, list[str]]]:
    """v1 ``SecurityRequirement``s as v0.3 requirements."""
    out = []
    for item in items:
        schemes = item.obj("schemes")
        requirement: dict[str, list[str]] = {}
        for name in schemes.data if schemes else {}:
            assert schemes is not None
            scopes = schemes.obj(name, required=True)
            assert scopes is not None
            requirement[name] = scopes.texts("list") or []
        out.append(requirement)
    return out
