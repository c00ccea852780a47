"""LTI routes: registrations (admins: REST, a page, Dynamic Registration), the key set, login
initiation, launch (in a frame, with or without cookies) and deep linking."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from assessments.deps import CurrentPrincipal, NowDep, RowId, SessionDep
from assessments.errors import DomainError, Forbidden, Invalid, NotFound
from assessments.limits import LimitsDep, client_address
from assessments.lti import ags, deep_linking, embedding, keys, nrps, pages, registration, service
from assessments.lti.embedding import Carrier
from assessments.lti.schemas import RegistrationCreate, RegistrationLinkOut, RegistrationOut, RegistrationUpdate
from assessments.lti.validation import LaunchRefused
from assessments.models import CourseRole
from assessments.pagination import PageDep
from assessments.security import check_csrf, content_security_policy, origin_of, origins
from assessments.web.pages import CsrfField, WebPrincipal

JOB_HANDLERS = (ags, nrps)
"""Imported so that a worker in the served app knows the LTI jobs (score passback, roster)."""
ASSETS = Path(__file__).parent / "static"
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css"}
ASSET_NAMES = frozenset(p.name for p in ASSETS.iterdir() if p.suffix in ASSET_TYPES)

api = APIRouter(prefix="/api/v1/lti", tags=["lti"])
router = APIRouter(prefix="/lti", include_in_schema=False)


# --- registrations ------------------------------------------------------------------------------


@api.post("/registrations", status_code=201)
def register(body: RegistrationCreate, principal: CurrentPrincipal, session: SessionDep,
             now: NowDep) -> RegistrationOut:
    """Register a platform (an LMS) by hand: administrators only."""
    principal.require_admin()
    return RegistrationOut.model_validate(service.register(session, body, now))


@api.get("/registrations")
def registrations(principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> list[RegistrationOut]:
    rows = page.rows(service.registrations(session, principal, limit=page.fetch, offset=page.offset))
    return [RegistrationOut.model_validate(p) for p in rows]


@api.patch("/registrations/{platform_id}")
def update_registration(platform_id: RowId, body: RegistrationUpdate, principal: CurrentPrincipal,
                        session: SessionDep) -> RegistrationOut:
    """Change a registration's deployment ids or the origins that may frame its launches."""
    return RegistrationOut.model_validate(service.update(session, principal, platform_id, body))


@api.post("/registration-links", status_code=201)
def registration_link(request: Request, principal: CurrentPrincipal, session: SessionDep,
                      now: NowDep) -> RegistrationLinkOut:
    """A one-time Dynamic Registration link (an hour long) to paste into an LMS: administrators only."""
    url, expires = registration.open_link(session, principal, embedding.public_url(request), now)
    return RegistrationLinkOut(url=url, expires_at=expires)


@router.get("/registrations")
def registrations_page(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    principal.require_admin()
    return pages.registrations(request, service.registrations(session, principal), link=None)


@router.post("/registrations/links")
def registration_link_page(request: Request, principal: WebPrincipal, session: SessionDep, now: NowDep,
                           csrf: CsrfField) -> Response:
    check_csrf(request, csrf)
    url, expires = registration.open_link(session, principal, embedding.public_url(request), now)
    return pages.registrations(request, service.registrations(session, principal), link=(url, expires))


def _same_origin(request: Request) -> None:
    """A form that only Assay's own page may post (the frame keeps no cookie, so no CSRF token)."""
    origin = request.headers.get("origin")
    ours = {origin_of(embedding.public_url(request)), origin_of(str(request.base_url))}
    if origin is None or origin_of(origin) not in ours:
        raise Forbidden("this form can only be sent from Assay's own page", code="cross_origin")


@router.get("/register/{token}")
def dynamic_registration(request: Request, token: str, session: SessionDep, now: NowDep, limits: LimitsDep,
                         openid_configuration: str = "", registration_token: str = "") -> Response:
    """Dynamic Registration starts: the LMS opens the administrator's link with its configuration URL."""
    limits.address_attempt(client_address(request), now)
    try:
        registration.usable_link(session, token, now)
        if not openid_configuration:
            raise registration.RegistrationRefused(
                "this link is to be pasted into your LMS's tool registration (as Assay's registration URL), "
                "which opens it with its openid_configuration")
        platform = registration.read_platform(openid_configuration)
    except DomainError as exc:
        raise framed(exc, origins([openid_configuration])) from None
    configuration = registration.tool_configuration(embedding.public_url(request), platform)
    return pages.confirm_registration(request, token, platform, configuration, openid_configuration,
                                      registration_token)


@router.post("/register/{token}")
def dynamic_registration_confirmed(request: Request, token: str, session: SessionDep, now: NowDep,
                                   limits: LimitsDep, openid_configuration: Annotated[str, Form()] = "",
                                   registration_token: Annotated[str, Form()] = "") -> Response:
    limits.address_attempt(client_address(request), now)
    try:
        _same_origin(request)
        link = registration.usable_link(session, token, now, lock=True)
        platform = registration.read_platform(openid_configuration)
        registered = registration.register(session, link, platform, registration_token or None,
                                           embedding.public_url(request), now)
    except DomainError as exc:
        raise framed(exc, origins([openid_configuration])) from None
    return pages.registered(request, registered, platform, openid_configuration)


# --- keys, assets -------------------------------------------------------------------------------


@router.get("/jwks")
def jwks(session: SessionDep, now: NowDep) -> JSONResponse:
    """Assay's public keys, for platforms to check what Assay signs."""
    return JSONResponse(keys.published(session, now), headers={"cache-control": "public, max-age=300"})


@router.get("/assets/{name}")
def asset(name: str) -> Response:
    """The LTI pages' scripts (platform storage, the launch's session in its page) and styles."""
    if name not in ASSET_NAMES:
        raise NotFound(f"no asset {name!r}")
    path = ASSETS / name
    return FileResponse(path, media_type=ASSET_TYPES[path.suffix], headers={"cache-control": "public, max-age=300"})


# --- login and launch ---------------------------------------------------------------------------


async def _params(request: Request) -> dict[str, str]:
    source: Any = request.query_params if request.method == "GET" else await request.form()
    return {k: v for k, v in source.items() if isinstance(v, str)}


@router.api_route("/login", methods=["GET", "POST"])
async def login(request: Request, session: SessionDep, now: NowDep, limits: LimitsDep) -> Response:
    """OIDC login initiation: send the browser to the platform with a state and a nonce.

    In a frame, or when the platform offers its storage, a page does it: it keeps the state in the
    platform's storage too, and offers a new window where neither that nor a cookie works."""
    limits.address_attempt(client_address(request), now)
    params = await _params(request)
    try:
        redirect = service.login(session, params, embedding.public_url(request) + "/", now)
    except LaunchRefused as exc:
        raise framed(exc, embedding.frames_of_issuer(session, params.get("iss"))) from None
    secure = request.app.state.settings.secure_cookies
    target = embedding.storage_target(params)
    if target is None and not embedding.framed(request):
        response: Response = RedirectResponse(redirect.url, status_code=302)
    else:
        response = pages.login(request, redirect, target, {k: params[k] for k in embedding.RELAUNCH_PARAMS
                                                           if params.get(k)})
    embedding.set_login_cookies(response, redirect.state, secure, probe=not isinstance(response, RedirectResponse))
    return response


def framed(exc: DomainError, frames: list[str]) -> DomainError:
    """The refusal, shown (as every error page is) with a policy that lets the platform's frame show it."""
    exc.headers = (exc.headers or {}) | {"content-security-policy": content_security_policy(frames=frames)}
    return exc


def _require(id_token: str) -> None:
    if not id_token:
        raise LaunchRefused("the launch carries no id_token")


def _finish_launch(request: Request, done: service.Launch, state: str, carrier: Carrier) -> Response:
    embedding.begin_session(request, done, carrier)
    if done.token.message_type == "LtiDeepLinkingRequest":
        request.session[deep_linking.SESSION_KEY] = deep_linking.pending_request(done.token, done.course)
        response: Response = RedirectResponse("/lti/deep-link", status_code=303)
    elif done.practice is not None:
        where = "class" if done.role == CourseRole.INSTRUCTOR else ""
        response = RedirectResponse(f"/practices/{done.practice.id}/{where}".rstrip("/"), status_code=303)
    elif done.quiz is None:
        response = pages.notice(request, "This link has no quiz yet",
                                "Add Assay to your course through your LMS's content picker "
                                "(deep linking) to choose the quiz or practice this link opens.")
    elif done.role == CourseRole.INSTRUCTOR:
        response = RedirectResponse(f"/quizzes/{done.quiz.id}/manage", status_code=303)
    else:
        response = RedirectResponse(f"/quizzes/{done.quiz.id}", status_code=303)
    embedding.clear_state_cookie(response, state, request.app.state.settings.secure_cookies)
    return response


@router.post("/launch", name="lti_launch")
def launch(request: Request, session: SessionDep, now: NowDep, limits: LimitsDep,
           id_token: Annotated[str, Form()] = "", state: Annotated[str, Form()] = "",
           lti_storage_target: Annotated[str, Form()] = "") -> Response:
    """A platform's launch (the form it posts): check it, provision, sign in, and go to the quiz.

    Without the state cookie (a frame that keeps no cookie), a platform that offers its storage gets
    a page that checks the state there and posts the launch on to ``/lti/launch/verify``."""
    limits.address_attempt(client_address(request), now)
    claims = embedding.unverified_claims(id_token)
    try:
        _require(id_token)
        cookie = request.cookies.get(embedding.STATE_COOKIE_PREFIX + state) if state else None
        target = embedding.storage_target({embedding.STORAGE_TARGET: lti_storage_target})
        if cookie is None and target is not None:
            platform = service.platform_for_check(session, claims)
            return pages.launch_check(request, id_token, state, claims, target,
                                      embedding.storage_origin(platform), platform.frame_origins)
        done = service.launch(session, id_token, state, state if cookie else None, now)
    except LaunchRefused as exc:
        raise framed(exc, embedding.frames_of_issuer(session, claims.get("iss"))) from None
    return _finish_launch(request, done, state, Carrier.cookie())


@router.post("/launch/verify")
def launch_verified(request: Request, session: SessionDep, now: NowDep, limits: LimitsDep,
                    id_token: Annotated[str, Form()] = "", state: Annotated[str, Form()] = "") -> Response:
    """The launch once the platform's storage held its state and nonce (posted by Assay's own page in
    the frame): the session lives in the pages, as the frame keeps no cookie."""
    limits.address_attempt(client_address(request), now)
    _same_origin(request)
    try:
        _require(id_token)
        done = service.launch(session, id_token, state, state, now)
    except LaunchRefused as exc:
        iss = embedding.unverified_claims(id_token).get("iss")
        raise framed(exc, embedding.frames_of_issuer(session, iss)) from None
    return _finish_launch(request, done, state, Carrier.page())


# --- deep linking -------------------------------------------------------------------------------


@router.get("/deep-link")
def deep_link_picker(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    course, quizzes, practices = deep_linking.choices(session, principal,
                                                      request.session.get(deep_linking.SESSION_KEY))
    return pages.picker(request, course, quizzes, practices)


@router.post("/deep-link")
def deep_link_choose(request: Request, principal: WebPrincipal, session: SessionDep, now: NowDep,
                     csrf: CsrfField, resource: Annotated[str, Form(max_length=40)] = "",
                     quiz_id: Annotated[str, Form(max_length=20)] = "",
                     send_completion: Annotated[str, Form(max_length=10)] = "") -> Response:
    """The instructor's choice: ``resource`` is ``quiz:<id>`` or ``practice:<id>`` (a script may
    still send ``quiz_id``); ``send_completion`` (a practice) sends each student's completion to
    the gradebook."""
    check_csrf(request, csrf)
    pending = request.session.get(deep_linking.SESSION_KEY)
    try:
        choice = deep_linking.Choice.parse(resource or (f"quiz:{quiz_id}" if quiz_id else ""),
                                           send_completion=bool(send_completion))
    except Invalid as exc:
        course, quizzes, practices = deep_linking.choices(session, principal, pending)
        return pages.picker(request, course, quizzes, practices, problem=exc.message, status_code=400)
    launch_url = embedding.public_url(request) + "/lti/launch"
    jwt, url = deep_linking.response_jwt(session, principal, pending, choice, launch_url, now)
    request.session.pop(deep_linking.SESSION_KEY, None)
    return pages.auto_submit(request, url, jwt)
