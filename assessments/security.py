"""Request security, for the API and the pages alike: CSRF, the session and its carriers, security headers.

- **CSRF**: every form and every cookie-authenticated API change carries the session's token
  (:func:`csrf_token`, :func:`check_csrf`).
- **Sessions** (:class:`Sessions`): a signed session in a cookie, signed as Starlette's
  ``SessionMiddleware`` signs it (``assay_session``). A session begun by an LTI launch
  (:data:`LTI_KEY`) lives in the LMS's frame, a third-party context: its cookie is
  ``SameSite=None; Secure; Partitioned`` (CHIPS) when the site is served securely
  (``Settings.secure_cookies``). Where the browser keeps no cookie in the frame at all (Safari, or a
  site whose cookies are blocked), the launch's session lives in the page instead: a short-lived
  signed token (:data:`LAUNCH_TOKEN_PARAM`) that the page's links and forms carry, and its scripts
  send as a header (:data:`LAUNCH_TOKEN_HEADER`).
- **Headers** (:class:`SecurityHeaders`): a Content-Security-Policy, ``nosniff``, the referrer policy,
  and the frame policy: no page may be framed, except the pages of an LTI session, which the origins
  of the platform that launched it (from its registration) may frame.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from base64 import b64decode, b64encode
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import itsdangerous
from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import Session
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assessments.errors import Forbidden

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SESSION_COOKIE = "assay_session"
SESSION_MAX_AGE = 60 * 60 * 12
LTI_KEY = "lti"
"""The session key a launch sets: ``{"platform": id, "frames": [origins], "carrier": "cookie" | "page"}``."""
LAUNCH_TOKEN_PARAM = "lti_session"  # noqa: S105 - a parameter's name, not a secret
LAUNCH_TOKEN_HEADER = "x-assay-session"  # noqa: S105 - a header's name
LAUNCH_TOKEN_SECONDS = 2 * 60 * 60
"""How long a launch token lives after the page that carries it was served (every page renews it)."""
_TOKEN_SALT = "assay.launch-session"  # noqa: S105 - itsdangerous's namespace, not a secret


# --- CSRF ---------------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, given: str | None) -> None:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not given or not hmac.compare_digest(expected, given):
        raise Forbidden("the form has expired or did not come from Assay: reload the page and try again",
                        code="csrf")


# --- Content-Security-Policy and the frame policy -----------------------------------------------


def content_security_policy(*, frames: Sequence[str] = (), script_nonce: str | None = None,
                            form_action: str | None = None, style_nonce: str | None = None,
                            style_attributes: bool = False, inline_styles: bool = False,
                            blob_workers: bool = False) -> str:
    """The site's policy; ``frames`` are the origins that may frame the page (none by default).

    The rest loosen it for a page that needs it: ``style_nonce`` lets in ``<style>`` elements
    that carry it, ``style_attributes`` style attributes (no selectors: they cannot read the
    page), ``inline_styles`` every inline style, and ``blob_workers`` workers made from blobs."""
    scripts = f"'nonce-{script_nonce}'" if script_nonce else "'self'"
    ancestors = " ".join(frames) if frames else "'none'"
    forms = form_action or "'self'"
    styles = "'self'" + (f" 'nonce-{style_nonce}'" if style_nonce else "")
    styles += " 'unsafe-inline'" if inline_styles else ""
    extra = ("; style-src-attr 'unsafe-inline'" if style_attributes else "") + (
        "; worker-src 'self' blob:" if blob_workers else "")
    return (f"default-src 'self'; script-src {scripts}; style-src {styles}; img-src 'self' data:; "
            f"font-src 'self'; connect-src 'self'; frame-ancestors {ancestors}; form-action {forms}; "
            f"base-uri 'none'; object-src 'none'{extra}")


CONTENT_SECURITY_POLICY = content_security_policy()

_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$")


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased, without a default port; None for
    anything else (another scheme, no host, a host with characters a host cannot have)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    origin = f"{parts.scheme}://{parts.hostname.lower()}" + (f":{port}" if port and port != default else "")
    return origin if _ORIGIN.match(origin) else None


def origins(urls: Iterable[str]) -> list[str]:
    """The distinct origins of ``urls``, in order (what is not an http(s) URL is left out)."""
    found: list[str] = []
    for url in urls:
        origin = origin_of(url)
        if origin and origin not in found:
            found.append(origin)
    return found


def frame_origins(session: Any) -> list[str]:
    """The origins that may frame the pages of this session: its LMS's, for an LTI session."""
    lti = session.get(LTI_KEY) if isinstance(session, dict) else None
    frames = lti.get("frames") if isinstance(lti, dict) else None
    return [f for f in frames if isinstance(f, str) and _ORIGIN.match(f)] if isinstance(frames, list) else []


_NO_STORE = (b"cache-control", b"no-store")
_NO_STORE_PATHS = ("/attempts", "/api/v1/attempts", "/lti/")
_FIXED = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))


class SecurityHeaders:
    """Adds the security headers to every HTTP response that does not set them itself, and
    ``cache-control: no-store`` to attempts and LTI pages (a pure ASGI middleware: it only edits
    the start of each response, never buffers a body). It runs inside :class:`Sessions`, so it
    sees the session as the endpoint left it: the pages of an LTI session may be framed by their
    platform's origins, and no other page by anyone (``frame-ancestors 'none'``, ``X-Frame-Options``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope["path"].startswith(_NO_STORE_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                frames = frame_origins(scope.get("session"))
                extra = [*_FIXED, (b"content-security-policy", content_security_policy(frames=frames).encode())]
                if not frames and b"content-security-policy" not in present:
                    extra.append((b"x-frame-options", b"DENY"))
                if no_store:
                    extra.append(_NO_STORE)
                headers.extend(pair for pair in extra if pair[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- sessions -----------------------------------------------------------------------------------


def set_cookie(name: str, value: str, *, max_age: int, path: str = "/", httponly: bool = True,
               secure: bool, third_party: bool) -> str:
    """A ``Set-Cookie`` value. ``third_party``: the cookie must come back in another site's frame, so
    it is ``SameSite=None; Secure; Partitioned`` where cookies can be Secure (``SameSite=None`` needs
    it) and ``SameSite=Lax`` otherwise. (Written here: Python's ``http.cookies``, under Starlette's
    ``set_cookie``, knows ``Partitioned`` only from Python 3.14.) ``max_age`` 0 clears the cookie."""
    expiry = f"Max-Age={max_age}" if max_age > 0 else "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    flags = "; HttpOnly" if httponly else ""
    if secure and third_party:
        flags += "; SameSite=None; Secure; Partitioned"
    else:
        flags += "; SameSite=Lax" + ("; Secure" if secure else "")
    return f"{name}={value}; Path={path}; {expiry}{flags}"


def carried_in_page(session: Any) -> bool:
    """Whether the session is a launch's that lives in its page (the browser keeps no cookie)."""
    lti = session.get(LTI_KEY) if isinstance(session, dict) else None
    return isinstance(lti, dict) and lti.get("carrier") == "page"


def with_token(url: str, token: str) -> str:
    """A path of Assay's with the launch token in its query (in place of any it had)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != LAUNCH_TOKEN_PARAM]
    return urlunsplit(parts._replace(query=urlencode([*query, (LAUNCH_TOKEN_PARAM, token)])))


_URL_ATTRIBUTE = re.compile(rb'\b(href|action|formaction)="(/(?!/)[^"]*)"')
_HEAD_END = re.compile(rb"</head>", re.IGNORECASE)
LAUNCH_SCRIPT = "/lti/assets/launch-session.js"


def carry_token(html: bytes, token: str) -> bytes:
    """The page with the launch token in its own links and forms, and in a ``<meta>`` for its
    scripts (``launch-session.js`` sends it with their requests)."""

    def carry(match: re.Match[bytes]) -> bytes:
        url = match.group(2).decode()
        if url.startswith(("/static/", "/lti/assets/")):
            return match.group(0)
        carried = with_token(url.replace("&amp;", "&"), token).replace("&", "&amp;")
        return match.group(1) + b'="' + carried.encode() + b'"'

    html = _URL_ATTRIBUTE.sub(carry, html)
    tags = f'<meta name="assay-session" content="{token}"><script src="{LAUNCH_SCRIPT}"></script>'.encode()
    return _HEAD_END.sub(lambda _: tags + b"</head>", html, count=1)


class Sessions:
    """The session: read from the launch token a request carries (a launch that lives in its page),
    else from the signed cookie; written back the same way (pure ASGI; it buffers only the HTML pages of a session
    carried in the page, to put the token in their links and forms).

    The cookie is ``HttpOnly``, ``Path=/``, ``Max-Age`` 12 hours; ``SameSite=Lax`` for a session
    begun on Assay's own pages; ``SameSite=None; Secure; Partitioned`` for a session begun by an
    LTI launch when ``secure`` (the platform's frame is a third-party context: ``None`` needs
    ``Secure``, and ``Partitioned`` keeps the cookie where browsers block third-party cookies).

    A launch token is accepted only from a request that is not cross-site (``Sec-Fetch-Site``
    ``same-origin`` or ``none``, or no such header): a link on another site that carries someone's
    token cannot sign a visitor in as them.
    """

    def __init__(self, app: ASGIApp, secret_key: str, *, secure: bool) -> None:
        self.app = app
        self.signer = itsdangerous.TimestampSigner(secret_key)
        self.tokens = itsdangerous.URLSafeTimedSerializer(secret_key, salt=_TOKEN_SALT)
        self.secure = secure

    def launch_token(self, session: dict[str, Any]) -> str:
        return self.tokens.dumps(dict(session))

    def _from_cookie(self, connection: HTTPConnection) -> Session | None:
        raw = connection.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data = json.loads(b64decode(self.signer.unsign(raw.encode(), max_age=SESSION_MAX_AGE)))
        except (itsdangerous.BadSignature, ValueError):
            return None
        return Session(data) if isinstance(data, dict) else None

    def _from_token(self, connection: HTTPConnection) -> Session | None:
        token = connection.headers.get(LAUNCH_TOKEN_HEADER) or connection.query_params.get(LAUNCH_TOKEN_PARAM)
        if not token or connection.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return None
        try:
            data = self.tokens.loads(token, max_age=LAUNCH_TOKEN_SECONDS)
        except itsdangerous.BadData:
            return None
        return Session(data) if carried_in_page(data) else None

    def _cookie(self, session: dict[str, Any] | None, *, lti: bool) -> str:
        """The ``Set-Cookie`` value that keeps ``session`` (None: that clears the cookie); ``lti``:
        a launch's session, whose cookie must work in the platform's frame."""
        if session is None:
            return set_cookie(SESSION_COOKIE, "null", max_age=0, secure=self.secure, third_party=lti)
        data = self.signer.sign(b64encode(json.dumps(session).encode())).decode()
        return set_cookie(SESSION_COOKIE, data, max_age=SESSION_MAX_AGE, secure=self.secure, third_party=lti)

    def _start(self, message: Message, session: Session, from_cookie: bool, was_lti: bool) -> str | None:
        """Keep the session in the response's start; the launch token when the body is a page
        that must carry it."""
        headers = MutableHeaders(scope=message)
        if session.accessed:
            headers.add_vary_header("Cookie")
        if carried_in_page(session):
            token = self.launch_token(session)
            headers[LAUNCH_TOKEN_HEADER] = token
            location = headers.get("location")
            if location and location.startswith("/") and not location.startswith("//"):
                headers["location"] = with_token(location, token)
            return token if headers.get("content-type", "").startswith("text/html") else None
        if session.modified and session:
            headers.append("set-cookie", self._cookie(session, lti=LTI_KEY in session))
        elif session.modified and from_cookie:
            headers.append("set-cookie", self._cookie(None, lti=was_lti))
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        from_token = self._from_token(connection)  # named by this very request: it comes first
        from_cookie = None if from_token is not None else self._from_cookie(connection)
        scope["session"] = from_token or from_cookie or Session()
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        was_lti = from_cookie is not None and LTI_KEY in from_cookie  # before the endpoint changes it
        page: dict[str, Any] = {}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                token = self._start(message, scope["session"], from_cookie is not None, was_lti)
                if token is not None:
                    page.update(start=message, token=token, body=[])
                    return
            elif message["type"] == "http.response.body" and page:
                page["body"].append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = carry_token(b"".join(page["body"]), page["token"])
                MutableHeaders(scope=page["start"])["content-length"] = str(len(body))
                await send(page["start"])
                message = {"type": "http.response.body", "body": body}
            await send(message)

        await self.app(scope, receive, send_wrapper)
