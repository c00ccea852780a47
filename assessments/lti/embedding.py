"""Launches inside the LMS's frame: where the login's state is kept, and where the launch's session lives.

An LMS (Canvas, Moodle) opens a tool in an iframe: a third-party context, where a browser may keep
the tool's cookies (``SameSite=None; Secure``), keep them only partitioned by the LMS's site
(``Partitioned``, CHIPS: Chrome with third-party cookies blocked), or keep none (Safari, or a site
the user blocked). So the login's state travels two ways at once:

- a cookie, ``lti1p3-state-<state>`` (``SameSite=None; Secure; Partitioned`` where cookies are
  Secure), that the launch brings back when the browser keeps cookies in the frame; and
- the platform's storage (1EdTech's *LTI Client Side postMessages* and *postMessage Storage*, and
  the *OIDC Login with LTI Client Side postMessages* flow): when the login names an
  ``lti_storage_target``, the login page puts ``state_<state>`` and ``nonce_<nonce>`` there with
  ``lti.put_data`` before going on to the platform, and a launch that comes back without the
  cookie shows a page that reads them with ``lti.get_data`` and, if they match, posts the launch
  on to ``/lti/launch/verify`` (which takes only a same-origin post).

A framed login with neither (no cookie survives, and the platform offers no storage) offers a button
that opens the login again in a window of its own, where Assay's cookies are first-party.

The launch's session follows the same road: a cookie (:mod:`assessments.security`) when the state
came back in one, else a token the pages carry (``carrier: page``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from assessments.auth import sessions
from assessments.lti import repository
from assessments.lti.service import STATE_COOKIE_PREFIX, Launch
from assessments.models import LtiPlatform
from assessments.security import LTI_KEY, csrf_token, origin_of, set_cookie

STORAGE_TARGET = "lti_storage_target"
PROBE_COOKIE = "assay_lti_probe"
"""A cookie the framed login page's script looks for: whether this frame keeps Assay's cookies."""
STATE_SECONDS = 600
_FRAME_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
RELAUNCH_PARAMS = ("iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id", "lti_deployment_id")
"""The login initiation's parameters that a login opened again in a new window carries."""


def public_url(request: Request) -> str:
    """Assay's address as people reach it: ``ASSAY_PUBLIC_URL``, else the request's own."""
    configured = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")


def framed(request: Request) -> bool:
    """Whether the browser says this navigation is into a frame (``Sec-Fetch-Dest: iframe``)."""
    return request.headers.get("sec-fetch-dest") in ("iframe", "frame")


def storage_target(params: dict[str, str]) -> str | None:
    """The platform's storage frame the login or launch names (``_parent`` or a frame's name)."""
    target = params.get(STORAGE_TARGET)
    return target if target and _FRAME_NAME.match(target) else None


def storage_origin(platform: LtiPlatform) -> str:
    """Where the platform's storage answers from: its OIDC authorisation endpoint's origin (the
    postMessage Storage spec has tools send ``lti.put_data`` and ``lti.get_data`` there)."""
    return origin_of(platform.auth_login_url) or platform.auth_login_url


def frames_of_issuer(session: Session, issuer: Any) -> list[str]:
    """The frame origins of the registrations of ``issuer`` (for pages shown before a launch is checked)."""
    if not isinstance(issuer, str) or not issuer:
        return []
    found: list[str] = []
    for platform in repository.platforms_of_issuer(session, issuer):
        found.extend(o for o in platform.frame_origins if o not in found)
    return found


def unverified_claims(id_token: str) -> dict[str, Any]:
    """What an id_token says before it is checked: only to choose a page, never to trust."""
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def set_login_cookies(response: Response, state: str, secure: bool, *, probe: bool) -> None:
    """The state cookie (and the probe): ``SameSite=None; Secure; Partitioned`` where cookies can be
    Secure, so that they come back in the platform's frame; ``Lax`` otherwise (development over http)."""
    names = [STATE_COOKIE_PREFIX + state] + ([PROBE_COOKIE] if probe else [])
    for name in names:
        response.headers.append("set-cookie", set_cookie(name, "1", max_age=STATE_SECONDS, path="/lti/",
                                                         httponly=name != PROBE_COOKIE, secure=secure,
                                                         third_party=True))


def clear_state_cookie(response: Response, state: str, secure: bool) -> None:
    """The launch has used the login's state: its cookie goes (in the partition it was kept in)."""
    response.headers.append("set-cookie", set_cookie(STATE_COOKIE_PREFIX + state, "", max_age=0, path="/lti/",
                                                     secure=secure, third_party=True))


@dataclass(frozen=True)
class Carrier:
    """How a launch's session travels: in a cookie, or in the pages (the browser keeps no cookie)."""

    name: str

    @classmethod
    def cookie(cls) -> Carrier:
        return cls("cookie")

    @classmethod
    def page(cls) -> Carrier:
        return cls("page")


def begin_session(request: Request, done: Launch, carrier: Carrier) -> None:
    """Sign the launch's user in: a fresh session, which the platform's origins may frame."""
    sessions.begin(request, done.user)
    request.session[LTI_KEY] = {"platform": done.token.platform.id, "frames": list(done.token.platform.frame_origins),
                                "carrier": carrier.name}
    csrf_token(request)
