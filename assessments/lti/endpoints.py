"""LTI routes: registrations (admins, REST), the key set, login initiation, launch and deep linking."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from assessments.auth import sessions
from assessments.deps import CurrentPrincipal, NowDep, SessionDep
from assessments.limits import LimitsDep, client_address
from assessments.lti import ags, deep_linking, keys, nrps, pages, service
from assessments.lti.schemas import RegistrationCreate, RegistrationOut
from assessments.lti.validation import LaunchRefused
from assessments.models import CourseRole
from assessments.pagination import PageDep
from assessments.web.pages import CsrfField, WebPrincipal
from assessments.web.security import check_csrf, csrf_token

JOB_HANDLERS = (ags, nrps)
"""Imported so that a worker in the served app knows the LTI jobs (score passback, roster)."""

api = APIRouter(prefix="/api/v1/lti", tags=["lti"])
router = APIRouter(prefix="/lti", include_in_schema=False)


@api.post("/registrations", status_code=201)
def register(body: RegistrationCreate, principal: CurrentPrincipal, session: SessionDep,
             now: NowDep) -> RegistrationOut:
    """Register a platform (an LMS): administrators only."""
    principal.require_admin()
    return RegistrationOut.model_validate(service.register(session, body, now))


@api.get("/registrations")
def registrations(principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> list[RegistrationOut]:
    rows = page.rows(service.registrations(session, principal, limit=page.fetch, offset=page.offset))
    return [RegistrationOut.model_validate(p) for p in rows]


@router.get("/jwks")
def jwks(session: SessionDep, now: NowDep) -> JSONResponse:
    """Assay's public keys, for platforms to check what Assay signs."""
    return JSONResponse(keys.published(session, now), headers={"cache-control": "public, max-age=300"})


async def _params(request: Request) -> dict[str, str]:
    source: Any = request.query_params if request.method == "GET" else await request.form()
    return {k: v for k, v in source.items() if isinstance(v, str)}


@router.api_route("/login", methods=["GET", "POST"])
async def login(request: Request, session: SessionDep, now: NowDep, limits: LimitsDep) -> Response:
    """OIDC login initiation: send the browser to the platform with a state and a nonce."""
    limits.address_attempt(client_address(request), now)  # each login stores a nonce: bounded per address
    redirect = service.login(session, await _params(request), str(request.base_url), now)
    response = RedirectResponse(redirect.url, status_code=302)
    secure = request.app.state.settings.cookie_secure
    # The platform posts the launch back cross-site: the cookie must ride along (SameSite=None
    # needs Secure; without HTTPS, as in development, Lax is what browsers keep).
    response.set_cookie(service.STATE_COOKIE_PREFIX + redirect.state, "1", max_age=600, path="/lti/",
                        httponly=True, secure=secure, samesite="none" if secure else "lax")
    return response


@router.post("/launch", name="lti_launch")
def launch(request: Request, session: SessionDep, now: NowDep, limits: LimitsDep,
           id_token: Annotated[str, Form()] = "", state: Annotated[str, Form()] = "") -> Response:
    """A platform's launch (the form it posts): check it, provision, sign in, and go to the quiz."""
    limits.address_attempt(client_address(request), now)
    if not id_token:
        raise LaunchRefused("the launch carries no id_token")
    cookie = request.cookies.get(service.STATE_COOKIE_PREFIX + state) if state else None
    done = service.launch(session, id_token, state, state if cookie else None, now)
    sessions.begin(request, done.user)  # a fresh session for whoever the platform says this is
    csrf_token(request)
    if done.token.message_type == "LtiDeepLinkingRequest":
        request.session[deep_linking.SESSION_KEY] = deep_linking.pending_request(done.token, done.course)
        target = "/lti/deep-link"
    elif done.quiz is None:
        response: Response = pages.notice(request, "This link has no quiz yet",
                                          "Add Assay to your course through your LMS's content picker "
                                          "(deep linking) to choose the quiz this link opens.")
        response.delete_cookie(service.STATE_COOKIE_PREFIX + state, path="/lti/")
        return response
    elif done.role == CourseRole.INSTRUCTOR:
        target = f"/quizzes/{done.quiz.id}/manage"
    else:
        target = f"/quizzes/{done.quiz.id}"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(service.STATE_COOKIE_PREFIX + state, path="/lti/")
    return response


@router.get("/deep-link")
def deep_link_picker(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    course, quizzes = deep_linking.choices(session, principal, request.session.get(deep_linking.SESSION_KEY))
    return pages.picker(request, course, quizzes)


@router.post("/deep-link")
def deep_link_choose(request: Request, principal: WebPrincipal, session: SessionDep, now: NowDep,
                     csrf: CsrfField, quiz_id: Annotated[int, Form()]) -> Response:
    check_csrf(request, csrf)
    jwt, url = deep_linking.response_jwt(session, principal, request.session.get(deep_linking.SESSION_KEY),
                                         quiz_id, str(request.url_for("lti_launch")), now)
    request.session.pop(deep_linking.SESSION_KEY, None)
    return pages.auto_submit(url, jwt)
