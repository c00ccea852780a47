"""An LMS's side of LTI Dynamic Registration 1.0, in-process: the platform of ``platform.Platform``
(its issuer, endpoints and keys) also serves its OpenID configuration and a registration endpoint.

The registration endpoint checks a tool's request the way the spec says a platform does (DR's tool
configuration: a web application using ``private_key_jwt``, the ``id_token`` response type, the
implicit and client_credentials grants, login and redirect URIs on the tool's domain, a key set, the
lti-tool-configuration claim with its messages) and the registration token (a bearer, single use),
then answers a client_id and a deployment_id (DR §3.6.1). Tests turn it hostile by editing
``configuration`` or ``answer``, or by what ``handle`` serves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2

from tests.assessments.lti.platform import CLIENT_ID, DEPLOYMENT, ISSUER, Platform

CONFIGURATION_URL = f"{ISSUER}/api/lti/security/openid-configuration"
REGISTRATION_URL = f"{ISSUER}/api/lti/registrations"
REGISTRATION_TOKEN = "one-time-registration-token"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"


class Refusal(Exception):
    pass


@dataclass
class Registrar:
    platform: Platform
    requests: list[dict[str, Any]] = field(default_factory=list)
    token_spent: bool = False
    configuration: dict[str, Any] = field(default_factory=dict)
    answer: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, Any] | None = None
    served: dict[str, httpx2.Response] = field(default_factory=dict)
    """Responses that replace what the platform would serve at a URL (hostile tests)."""

    def __post_init__(self) -> None:
        body = self.platform.registration_body()
        self.configuration = {
            "issuer": ISSUER,
            "authorization_endpoint": body["auth_login_url"],
            "token_endpoint": body["auth_token_url"],
            "jwks_uri": body["jwks_url"],
            "registration_endpoint": REGISTRATION_URL,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                                 "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                                 "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"],
            "response_types_supported": ["id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
            "subject_types_supported": ["public", "pairwise"],
            PLATFORM_CONFIGURATION: {
                "product_family_code": "moodle", "version": "4.5",
                "messages_supported": [{"type": "LtiResourceLinkRequest"}, {"type": "LtiDeepLinkingRequest"}],
            },
        }
        self.answer = {"client_id": CLIENT_ID, TOOL_CONFIGURATION: {"deployment_id": DEPLOYMENT}}

    def start_url(self, link: str) -> str:
        """Where the LMS's administrator's browser goes: Assay's link, with the platform's parameters."""
        path = urlsplit(link).path
        return f"{path}?openid_configuration={CONFIGURATION_URL}&registration_token={REGISTRATION_TOKEN}"

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        url = str(request.url)
        if url in self.served:
            return self.served[url]
        if url == CONFIGURATION_URL and request.method == "GET":
            return httpx2.Response(200, json=self.configuration)
        if url == self.configuration.get("jwks_uri") and self.keys is not None:
            return httpx2.Response(200, json=self.keys)
        if url == REGISTRATION_URL and request.method == "POST":
            return self._register(request)
        return self.platform.handle(request)

    def _register(self, request: httpx2.Request) -> httpx2.Response:
        if request.headers.get("authorization") != f"Bearer {REGISTRATION_TOKEN}" or self.token_spent:
            return httpx2.Response(401, json={"error": "invalid_token",
                                              "error_description": "the registration token is unknown or spent"})
        try:
            body = json.loads(request.content)
            self._check(body)
        except (ValueError, Refusal) as exc:
            return httpx2.Response(400, json={"error": "invalid_client_metadata", "error_description": str(exc)})
        self.token_spent = True
        self.requests.append(body)
        return httpx2.Response(200, json=body | self.answer)

    @staticmethod
    def _check(body: dict[str, Any]) -> None:
        def need(condition: bool, what: str) -> None:
            if not condition:
                raise Refusal(what)

        need(body.get("application_type") == "web", "application_type must be web")
        need(body.get("token_endpoint_auth_method") == "private_key_jwt", "private_key_jwt is required")
        need("id_token" in body.get("response_types", []), "the id_token response type is required")
        need({"implicit", "client_credentials"} <= set(body.get("grant_types", [])), "grant types")
        lti = body.get(TOOL_CONFIGURATION)
        if not isinstance(lti, dict):
            raise Refusal("no lti-tool-configuration")
        domain = lti.get("domain")
        for url in [body.get("initiate_login_uri"), body.get("jwks_uri"), lti.get("target_link_uri"),
                    *body.get("redirect_uris", [])]:
            need(isinstance(url, str) and urlsplit(url).netloc == domain, f"{url!r} is not on {domain}")
        need(bool(body.get("redirect_uris")), "redirect_uris")
        need(all(m.get("type") in ("LtiResourceLinkRequest", "LtiDeepLinkingRequest")
                 for m in lti.get("messages", [])), "messages")
