"""The pages LTI needs (``templates/lti/``): the framed login and launch check, refusals, the deep
linking picker and the form that returns to the LMS, registrations and Dynamic Registration.

They extend the site's ``base.html``. A page shown in a platform's frame before anyone is signed in
(the login, the launch check, the registration dialog; a refusal is the site's error page with the
same policy) carries its own
Content-Security-Policy, whose ``frame-ancestors`` are that platform's origins; once a launch has
signed someone in, the session's frame policy does it (:mod:`assessments.security`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from assessments.lti.embedding import PROBE_COOKIE
from assessments.lti.registration import TOOL_CONFIGURATION, PlatformConfiguration
from assessments.lti.service import LoginRedirect
from assessments.models import LtiPlatform
from assessments.security import content_security_policy, csrf_token, frame_origins, origin_of, origins
from assessments.web.templating import templates


def _render(request: Request, name: str, status_code: int = 200, *, frames: Sequence[str] | None = None,
            form_action: str | None = None, **context: Any) -> HTMLResponse:
    """The page; ``frames``: the origins that may frame it, for a page shown before a launch has
    signed anyone in (its own policy, whatever the session's); ``form_action``: where its forms may go."""
    user = getattr(request.state, "user", None)
    # Only a signed-in page has forms of its own to protect: a page shown before a launch makes no
    # session (its cookie would only get in the way of the one the launch begins).
    body = templates.get_template(name).render(request=request, user=user, csrf=csrf_token(request) if user else "",
                                                TOOL_CONFIGURATION=TOOL_CONFIGURATION, **context)
    response = HTMLResponse(body, status_code=status_code)
    if frames is not None:
        response.headers["content-security-policy"] = content_security_policy(frames=frames, form_action=form_action)
    response.headers["cache-control"] = "no-store"
    return response


def picker(request: Request, course: Any, quizzes: list[Any], practices: list[Any], *, problem: str | None = None,
           status_code: int = 200) -> HTMLResponse:
    """The deep linking picker: the course's quizzes and practices (``problem``: why a choice was refused)."""
    return _render(request, "lti/picker.html", status_code, course=course, quizzes=quizzes, practices=practices,
                   problem=problem)


def notice(request: Request, title: str, message: str) -> HTMLResponse:
    return _render(request, "lti/notice.html", title=title, message=message)


def login(request: Request, redirect: LoginRedirect, target: str | None, relaunch: dict[str, str]) -> HTMLResponse:
    """The framed login: keeps the state in the platform's storage (if it offers one), then goes on."""
    storage_origin = origin_of(redirect.platform.auth_login_url) or ""
    # The new window's form posts to /lti/login, which redirects to the platform: a policy's
    # form-action holds for the redirect too.
    return _render(request, "lti/login.html", frames=redirect.platform.frame_origins,
                   form_action=f"'self' {storage_origin}".strip(), redirect=redirect,
                   target=target, storage_origin=storage_origin, relaunch=relaunch, probe_cookie=PROBE_COOKIE)


def launch_check(request: Request, id_token: str, state: str, claims: dict[str, Any], target: str,
                 storage_origin: str, frames: Sequence[str]) -> HTMLResponse:
    """A launch without its state cookie: the page reads the state and nonce from the platform's storage."""
    nonce = claims.get("nonce") if isinstance(claims.get("nonce"), str) else ""
    return _render(request, "lti/launch_check.html", frames=frames, id_token=id_token, state=state, nonce=nonce,
                   target=target, storage_origin=storage_origin)


def auto_submit(request: Request, url: str, jwt: str) -> HTMLResponse:
    """The deep linking response, posted to the platform by a script its nonce allows."""
    nonce = secrets.token_urlsafe(16)
    body = templates.get_template("lti/return.html").render(url=url, jwt=jwt, nonce=nonce)
    response = HTMLResponse(body)
    response.headers["content-security-policy"] = content_security_policy(
        frames=frame_origins(request.session), script_nonce=nonce, form_action=origin_of(url) or "'none'")
    response.headers["cache-control"] = "no-store"
    return response


def registrations(request: Request, platforms: list[LtiPlatform], link: tuple[str, datetime] | None) -> HTMLResponse:
    return _render(request, "lti/registrations.html", platforms=platforms, link=link)


def _registration_frames(platform: PlatformConfiguration, openid_configuration: str) -> list[str]:
    """Who may frame the registration dialog: the LMS that opened it (its configuration's host)."""
    return origins([openid_configuration, platform.issuer, platform.authorization_endpoint])


def confirm_registration(request: Request, token: str, platform: PlatformConfiguration,
                         configuration: dict[str, Any], openid_configuration: str,
                         registration_token: str) -> HTMLResponse:
    return _render(request, "lti/register.html", frames=_registration_frames(platform, openid_configuration),
                   token=token, platform=platform, configuration=configuration,
                   openid_configuration=openid_configuration, registration_token=registration_token)


def registered(request: Request, registered: LtiPlatform, platform: PlatformConfiguration,
               openid_configuration: str) -> HTMLResponse:
    return _render(request, "lti/registered.html", frames=_registration_frames(platform, openid_configuration),
                   registered=registered, platform=platform)
