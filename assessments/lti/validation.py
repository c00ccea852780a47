"""Checking an id_token from a platform, claim by claim, before anything is provisioned.

The signature is checked with the platform's key named by ``kid``, from its JWKS (cached on the
registration; fetched again once when a token names a key the cache lacks: the platform rotated).
Times are checked on the service clock. Every refusal names what was wrong; none provisions anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt.algorithms import RSAAlgorithm
from sqlalchemy.orm import Session

from assessments.errors import DomainError
from assessments.lti import http, repository
from assessments.models import LtiPlatform

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
MESSAGE_TYPES = frozenset({RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST})
LTI_VERSION = "1.3.0"

JWKS_TTL = timedelta(hours=1)
CLOCK_SKEW = timedelta(seconds=60)
"""How far a platform's clock may run ahead of ours (an ``iat`` in the future)."""
MAX_TOKEN_AGE = timedelta(minutes=10)
"""An id_token issued longer ago than this is refused, whatever its ``exp``."""
MAX_ID_LENGTH = 255
"""LTI Core caps ``sub``, ``deployment_id`` and the resource link's and context's ids at 255 characters."""
DEEP_LINK_ITEM = "ltiResourceLink"
"""The only content item Assay's deep linking response holds."""


class LaunchRefused(DomainError):
    """A login or launch that Assay will not accept; the message says why."""

    status_code = 400
    code = "lti_refused"


class NotOurAudience(LaunchRefused):
    """An id_token not addressed to Assay alone: the Security Framework (§5.1.3) has it refused with a 401."""

    status_code = 401
    code = "lti_wrong_audience"


@dataclass(frozen=True)
class VerifiedToken:
    platform: LtiPlatform
    claims: dict[str, Any]

    def claim(self, name: str) -> Any:
        return self.claims.get(CLAIM + name)

    @property
    def message_type(self) -> str:
        return str(self.claim("message_type"))


def _key_set(session: Session, platform: LtiPlatform, now: datetime, *, refresh: bool) -> dict[str, Any]:
    fresh = platform.jwks_fetched_at is not None and platform.jwks_fetched_at > now - JWKS_TTL
    if platform.jwks is not None and fresh and not refresh:
        return platform.jwks
    try:
        with http.client() as client:
            reply = client.get(platform.jwks_url)
            reply.raise_for_status()
            keys = reply.json()
    except Exception as exc:
        raise LaunchRefused("the platform's key set could not be fetched", code="lti_jwks_unavailable") from exc
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        raise LaunchRefused("the platform's key set is not a JWKS", code="lti_jwks_unavailable")
    platform.jwks, platform.jwks_fetched_at = keys, now
    session.flush()
    return keys


def _find(keys: dict[str, Any], kid: str) -> dict[str, Any] | None:
    return next((k for k in keys["keys"] if isinstance(k, dict) and k.get("kid") == kid), None)


def platform_key(session: Session, platform: LtiPlatform, kid: str, now: datetime) -> Any:
    """The platform's public key named ``kid``: from the cache, else from one fresh fetch."""
    jwk = _find(_key_set(session, platform, now, refresh=False), kid)
    if jwk is None:
        jwk = _find(_key_set(session, platform, now, refresh=True), kid)
    if jwk is None:
        raise LaunchRefused(f"the platform has no key {kid!r}", code="lti_unknown_kid")
    return RSAAlgorithm.from_jwk(json.dumps(jwk))


def registration_of(session: Session, unverified: dict[str, Any]) -> LtiPlatform:
    """The registration a token is for: its issuer's, named by ``azp`` or its one audience.

    Every audience must be a client_id Assay holds for that issuer (the Security Framework refuses
    a token that is also addressed to an audience the tool does not trust); with several, ``azp``
    must say which."""
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise LaunchRefused("the id_token has no issuer")
    known = {p.client_id: p for p in repository.platforms_of_issuer(session, issuer)}
    if not known:
        raise LaunchRefused(f"no platform is registered with the issuer {issuer!r}", code="lti_unknown_issuer")
    aud = unverified.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    ours = [a for a in audiences if isinstance(a, str) and a in known]
    if not ours:
        raise NotOurAudience("the id_token is not addressed to Assay (aud lacks our client_id)")
    if len(ours) < len(audiences):
        raise NotOurAudience("the id_token is also addressed to an audience Assay does not trust")
    azp = unverified.get("azp")
    if len(audiences) > 1 and azp is None:
        raise LaunchRefused("the id_token has several audiences but no azp")
    client_id = ours[0] if azp is None else azp
    if client_id not in ours:
        raise LaunchRefused("the id_token's azp is not our client_id")
    return known[client_id]


def verify_id_token(session: Session, token: str, now: datetime) -> VerifiedToken:
    """The token's claims once its signature, issuer, audience and times are right."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise LaunchRefused("the id_token is not a JWT") from exc
    if header.get("alg") != "RS256":
        raise LaunchRefused("the id_token must be signed with RS256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise LaunchRefused("the id_token's header names no key (kid)")
    platform = registration_of(session, unverified)
    key = platform_key(session, platform, kid, now)
    try:
        # The same payload as ``unverified``, now known to be the platform's; times are checked below,
        # on the service clock.
        claims = jwt.decode(token, key, algorithms=["RS256"], audience=platform.client_id,
                            issuer=platform.issuer, options={"verify_exp": False, "verify_iat": False,
                                                             "verify_nbf": False})
    except jwt.InvalidSignatureError as exc:
        raise LaunchRefused("the id_token's signature does not verify", code="lti_bad_signature") from exc
    except jwt.PyJWTError as exc:
        raise LaunchRefused(f"the id_token is not acceptable: {exc}") from exc
    _check_times(claims, now)
    return VerifiedToken(platform, claims)


def _check_times(claims: dict[str, Any], now: datetime) -> None:
    stamp = now.timestamp()
    if not isinstance(claims.get("exp"), (int, float)):
        raise LaunchRefused("the id_token has no expiry time (exp)", code="lti_expired")
    if not isinstance(claims.get("iat"), (int, float)):
        raise LaunchRefused("the id_token has no issue time (iat)", code="lti_bad_iat")
    if claims["exp"] <= stamp:
        raise LaunchRefused("the id_token has expired", code="lti_expired")
    if claims["iat"] > stamp + CLOCK_SKEW.total_seconds():
        raise LaunchRefused("the id_token was issued in the future", code="lti_bad_iat")
    if claims["iat"] < stamp - MAX_TOKEN_AGE.total_seconds():
        raise LaunchRefused("the id_token was issued too long ago", code="lti_bad_iat")


def _bounded_id(value: Any, what: str) -> bool:
    """Whether ``value`` is a non-empty id; one longer than LTI allows is refused outright."""
    if not isinstance(value, str) or not value:
        return False
    if len(value) > MAX_ID_LENGTH:
        raise LaunchRefused(f"the launch's {what} is longer than the {MAX_ID_LENGTH} characters LTI allows")
    return True


def _check_deep_linking(settings: Any) -> None:
    """Deep Linking 2.0 §4.4.1: where to return (an absolute URL), and a platform that takes a resource link."""
    if not isinstance(settings, dict) or not isinstance(settings.get("deep_link_return_url"), str):
        raise LaunchRefused("the deep linking request has no deep_link_return_url")
    parts = urlsplit(settings["deep_link_return_url"])
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise LaunchRefused("the deep linking request's deep_link_return_url is not an absolute http(s) URL")
    accepted = settings.get("accept_types")
    if not isinstance(accepted, list) or DEEP_LINK_ITEM not in accepted:
        raise LaunchRefused(f"the deep linking request does not accept an {DEEP_LINK_ITEM}, the only content "
                            "Assay adds (a quiz)", code="lti_deep_link_types")


def check_message(verified: VerifiedToken) -> None:
    """The LTI claims every message needs, and those its type needs."""
    platform, claims = verified.platform, verified.claims
    deployment = verified.claim("deployment_id")
    if deployment not in platform.deployment_ids:
        raise LaunchRefused(f"the deployment {deployment!r} is not registered", code="lti_unknown_deployment")
    if verified.claim("version") != LTI_VERSION:
        raise LaunchRefused("only LTI version 1.3.0 is supported", code="lti_wrong_version")
    if verified.claim("message_type") not in MESSAGE_TYPES:
        raise LaunchRefused("the message_type is missing or not one Assay handles", code="lti_message_type")
    target = verified.claim("target_link_uri")
    if not isinstance(target, str) or not target:
        raise LaunchRefused("the id_token has no target_link_uri", code="lti_wrong_target")
    if not _bounded_id(claims.get("sub"), "user id (sub)"):
        raise LaunchRefused("the launch has no user (sub): anonymous launches are not supported")
    if not isinstance(verified.claim("roles"), list):
        raise LaunchRefused("the launch has no roles claim")
    if verified.message_type == RESOURCE_LINK_REQUEST:
        link = verified.claim("resource_link")
        if not isinstance(link, dict) or not _bounded_id(link.get("id"), "resource_link id"):
            raise LaunchRefused("the launch has no resource_link id")
    else:
        _check_deep_linking(claims.get(DL_CLAIM + "deep_linking_settings"))
    context = verified.claim("context")
    if not isinstance(context, dict) or not _bounded_id(context.get("id"), "context id"):
        raise LaunchRefused("the launch has no context: Assay needs the course it comes from")
