"""LTI Dynamic Registration 1.0: an administrator pastes one link into the LMS, and Assay registers itself.

1. An Assay administrator opens a registration link (:func:`open_link`): one use, an hour long; only
   its SHA-256 is stored.
2. The LMS opens the link with ``openid_configuration`` (the URL of its OpenID configuration) and,
   usually, ``registration_token`` (DR step 1, the registration initiation request). Assay reads
   the configuration (:func:`read_platform`) and checks it: an https issuer on the host the
   configuration came from (DR §3.5.1, Issuer and OpenID Configuration URL Match), the endpoints an
   LTI 1.3 tool needs, ``private_key_jwt`` and RS256, and signed metadata, if any, that verifies
   against the platform's own key set and says what the plain document says. A key set without an
   RS256 signing key is refused too: such a platform could not sign a launch.
3. The administrator confirms; Assay posts its tool configuration to the platform's
   ``registration_endpoint`` with the registration token (DR's tool configuration: redirect URIs,
   key set, the AGS and NRPS scopes the platform offers, the resource link and deep linking
   messages, the claims it needs), reads the client_id (and deployment_id, if any) it answers
   (DR §3.6.1, Successful Registration), and stores the registration, which the page shows; its
   Done button asks the LMS to close the dialog (``org.imsglobal.lti.close``).

Every refusal is a :class:`RegistrationRefused` (400) that says what was wrong, and provisions nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.deps import Principal
from assessments.errors import DomainError
from assessments.lti import http, service
from assessments.lti.schemas import RegistrationCreate
from assessments.lti.validation import DEEP_LINKING_REQUEST, RESOURCE_LINK_REQUEST
from assessments.models import LtiPlatform, LtiRegistrationLink
from assessments.security import origins

LINK_LIFETIME = timedelta(hours=1)
MAX_DOCUMENT_BYTES = 64 * 1024
"""The largest configuration, key set or registration answer Assay reads from a platform."""
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
)
"""AGS (line items, results, scores) and NRPS (the roster): what grade passback and roster sync use."""
CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email")
TOOL_NAME = "Assay"
TOOL_DESCRIPTION = "Quizzes whose answers are computed: every student gets a variant of their own."


class RegistrationRefused(DomainError):
    """A registration Assay will not make; the message says why."""

    status_code = 400
    code = "lti_registration_refused"


class LinkUnusable(DomainError):
    """A registration link that is unknown, used or expired."""

    status_code = 404
    code = "lti_registration_link"


# --- the administrator's link -------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_link(session: Session, principal: Principal, base_url: str, now: datetime) -> tuple[str, datetime]:
    """A one-time registration link (administrators only): its URL and when it expires."""
    principal.require_admin()
    token = secrets.token_urlsafe(32)
    expires = now + LINK_LIFETIME
    session.add(LtiRegistrationLink(token_hash=_hash(token), created_by_id=principal.user.id, created_at=now,
                                    expires_at=expires))
    session.flush()
    return f"{base_url}/lti/register/{token}", expires


def usable_link(session: Session, token: str, now: datetime, *, lock: bool = False) -> LtiRegistrationLink:
    query = select(LtiRegistrationLink).where(LtiRegistrationLink.token_hash == _hash(token[:200]))
    link = session.scalars(query.with_for_update() if lock else query).first()
    if link is None:
        raise LinkUnusable("this registration link is not one Assay made: ask an Assay administrator for a new one")
    if link.used_at is not None:
        raise LinkUnusable("this registration link has been used already: ask an Assay administrator for a new one",
                           code="lti_registration_link_used")
    if link.expires_at <= now:
        raise LinkUnusable("this registration link has expired: ask an Assay administrator for a new one",
                           code="lti_registration_link_expired")
    return link


# --- the platform's configuration ---------------------------------------------------------------


@dataclass(frozen=True)
class PlatformConfiguration:
    """What a platform's OpenID configuration says, once checked."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    product: str
    version: str
    messages: list[str]
    scopes: list[str] | None
    document: dict[str, Any] = field(repr=False)


def _secure_url(value: Any, what: str) -> str:
    """An https URL (http only on a loopback host, for a platform on the same machine)."""
    if not isinstance(value, str) or not value or len(value) > 1000:
        raise RegistrationRefused(f"the platform's configuration has no usable {what}")
    parts = urlsplit(value)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise RegistrationRefused(f"the platform's {what} is not an https URL: {value[:200]!r}")
    if parts.fragment:
        raise RegistrationRefused(f"the platform's {what} has a fragment: {value[:200]!r}")
    return value


def _bounded(chunks: Any, what: str) -> bytes:
    body = b""
    for chunk in chunks:
        body += chunk
        if len(body) > MAX_DOCUMENT_BYTES:
            raise RegistrationRefused(f"{what} is larger than {MAX_DOCUMENT_BYTES // 1024} KB")
    return body


def _fetch_json(url: str, what: str, **request: Any) -> Any:
    """A platform's JSON document (at most :data:`MAX_DOCUMENT_BYTES`; redirects are not followed)."""
    method = request.pop("method", "GET")
    try:
        with http.client() as client, client.stream(method, url, **request) as reply:
            body, status = _bounded(reply.iter_bytes(), what), reply.status_code
    except RegistrationRefused:
        raise
    except Exception as exc:
        raise RegistrationRefused(f"{what} could not be read: {exc}") from exc
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if status >= 300:
        detail = document.get("error_description") or document.get("error") if isinstance(document, dict) else None
        raise RegistrationRefused(f"{what} answered {status}" + (f": {str(detail)[:300]}" if detail else ""))
    if not isinstance(document, dict):
        raise RegistrationRefused(f"{what} is not a JSON object")
    return document


def _signing_keys(jwks_uri: str) -> dict[str, Any]:
    """The platform's RS256 signing keys by kid; refused when it has none (it could sign no launch)."""
    keys = _fetch_json(jwks_uri, "the platform's key set")
    found: dict[str, Any] = {}
    for jwk in keys.get("keys", []) if isinstance(keys.get("keys"), list) else []:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
            continue
        if jwk.get("alg", "RS256") != "RS256" or not isinstance(jwk.get("kid"), str):
            continue
        try:
            found[jwk["kid"]] = RSAAlgorithm.from_jwk(json.dumps(jwk))
        except Exception:  # noqa: BLE001, S112 - a malformed key is one the platform cannot sign with
            continue
    if not found:
        raise RegistrationRefused("the platform's key set has no RS256 signing key: it could not sign a launch")
    return found


def _check_signed_metadata(document: dict[str, Any], keys: dict[str, Any]) -> None:
    """OpenID Connect Discovery §2.1: signed metadata must verify, and agree with the plain values."""
    signed = document.get("signed_metadata")
    if signed is None:
        return
    if not isinstance(signed, str):
        raise RegistrationRefused("the platform's signed_metadata is not a JWT")
    try:
        kid = jwt.get_unverified_header(signed).get("kid")
    except jwt.PyJWTError as exc:
        raise RegistrationRefused(f"the platform's signed_metadata is not a JWT: {exc}") from exc
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise RegistrationRefused("the platform's signed_metadata is signed with a key its key set lacks")
    try:
        claims = jwt.decode(signed, key, algorithms=["RS256"], options={"verify_aud": False})
    except jwt.PyJWTError as exc:
        raise RegistrationRefused(f"the platform's signed_metadata does not verify: {exc}") from exc
    differing = sorted(k for k, v in claims.items() if k in document and document[k] != v and k != "signed_metadata")
    if claims.get("iss") != document.get("issuer") or differing:
        raise RegistrationRefused("the platform's signed_metadata says otherwise than its configuration"
                                  + (f" ({', '.join(differing)})" if differing else " (its issuer)"))


def read_platform(openid_configuration: str) -> PlatformConfiguration:
    """Read and check a platform's OpenID configuration (DR's platform configuration, §3.5.1)."""
    where = _secure_url(openid_configuration, "openid_configuration URL")
    document = _fetch_json(where, "the platform's OpenID configuration", headers={"accept": "application/json"})
    issuer = _secure_url(document.get("issuer"), "issuer")
    if urlsplit(issuer).query:
        raise RegistrationRefused("the platform's issuer has a query; an issuer is a URL without one")
    if (urlsplit(issuer).scheme, urlsplit(issuer).hostname) != (urlsplit(where).scheme, urlsplit(where).hostname):
        raise RegistrationRefused(f"the platform's issuer {issuer!r} is not on the host its configuration came from")
    endpoints = {name: _secure_url(document.get(name), name)
                 for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")}
    methods = document.get("token_endpoint_auth_methods_supported")
    if not isinstance(methods, list) or "private_key_jwt" not in methods:
        raise RegistrationRefused("the platform does not take private_key_jwt at its token endpoint")
    algorithms = document.get("id_token_signing_alg_values_supported")
    if not isinstance(algorithms, list) or "RS256" not in algorithms:
        raise RegistrationRefused("the platform does not sign id_tokens with RS256")
    lti = document.get(PLATFORM_CONFIGURATION)
    if not isinstance(lti, dict):
        raise RegistrationRefused(f"the platform's configuration has no {PLATFORM_CONFIGURATION} object")
    messages = [m.get("type") for m in lti.get("messages_supported", []) if isinstance(m, dict)] \
        if isinstance(lti.get("messages_supported"), list) else []
    scopes = document.get("scopes_supported")
    _check_signed_metadata(document, _signing_keys(endpoints["jwks_uri"]))
    return PlatformConfiguration(
        issuer=issuer, product=str(lti.get("product_family_code") or "an LMS")[:100],
        version=str(lti.get("version") or "")[:50], messages=[m for m in messages if isinstance(m, str)],
        scopes=[s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else None,
        document=document, **endpoints)


# --- Assay's configuration, and the registration ------------------------------------------------


def tool_configuration(base_url: str, platform: PlatformConfiguration) -> dict[str, Any]:
    """What Assay asks the platform to register (DR's tool configuration), within what it supports."""
    launch = f"{base_url}/lti/launch"
    scopes = [s for s in SCOPES if platform.scopes is None or s in platform.scopes]
    kinds = [RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST]
    messages = [{"type": kind, "target_link_uri": launch,
                 "label": "Add an Assay quiz" if kind == DEEP_LINKING_REQUEST else TOOL_NAME}
                for kind in kinds if not platform.messages or kind in platform.messages]
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": f"{base_url}/lti/login",
        "redirect_uris": [launch],
        "client_name": TOOL_NAME,
        "jwks_uri": f"{base_url}/lti/jwks",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(scopes),
        TOOL_CONFIGURATION: {
            "domain": urlsplit(base_url).netloc,
            "target_link_uri": launch,
            "description": TOOL_DESCRIPTION,
            "messages": messages,
            "claims": list(CLAIMS),
        },
    }


def _answer(reply: dict[str, Any]) -> tuple[str, list[str]]:
    client_id = reply.get("client_id")
    if not isinstance(client_id, str) or not client_id or len(client_id) > 255:
        raise RegistrationRefused("the platform's answer to the registration has no usable client_id")
    lti = reply.get(TOOL_CONFIGURATION)
    deployment = lti.get("deployment_id") if isinstance(lti, dict) else None
    if deployment is not None and (not isinstance(deployment, str) or not deployment or len(deployment) > 255):
        raise RegistrationRefused("the platform's answer names a deployment_id that is not an id")
    return client_id, [deployment] if deployment else []


def register(session: Session, link: LtiRegistrationLink, platform: PlatformConfiguration,
             registration_token: str | None, base_url: str, now: datetime) -> LtiPlatform:
    """Post Assay's configuration to the platform and store the registration it answers."""
    configuration = tool_configuration(base_url, platform)
    headers = {"content-type": "application/json", "accept": "application/json"}
    if registration_token:
        headers["authorization"] = f"Bearer {registration_token}"
    reply = _fetch_json(platform.registration_endpoint, "the platform's registration endpoint", method="POST",
                        headers=headers, content=json.dumps(configuration).encode())
    client_id, deployments = _answer(reply)
    body = RegistrationCreate.model_validate({
        "issuer": platform.issuer, "client_id": client_id, "deployment_ids": deployments or ["-"],
        "auth_login_url": platform.authorization_endpoint, "auth_token_url": platform.token_endpoint,
        "jwks_url": platform.jwks_uri, "frame_origins": origins([platform.authorization_endpoint])})
    body = body.model_copy(update={"deployment_ids": deployments})
    registered = service.register(session, body, now, registered_by="dynamic", configuration={
        "product_family_code": platform.product, "version": platform.version,
        "scopes": configuration["scope"].split(), "messages": [m["type"] for m in
                                                               configuration[TOOL_CONFIGURATION]["messages"]],
        "registered": {k: v for k, v in reply.items() if k != "client_secret"}})
    link.used_at, link.platform_id = now, registered.id
    session.flush()
    return registered
