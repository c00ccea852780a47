"""Service tokens for AGS and NRPS: OAuth 2 client credentials with a signed JWT assertion.

Tokens are cached per platform and scope set until shortly before they expire (each process keeps
its own cache; a token is cheap to ask for again).
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from assessments.lti import http, keys
from assessments.models import LtiPlatform

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MARGIN = timedelta(seconds=30)

_cache: dict[tuple[int, frozenset[str]], tuple[str, datetime]] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def service_token(session: Session, platform: LtiPlatform, scopes: set[str], now: datetime) -> str:
    """A bearer token for ``scopes`` at the platform (cached per scope set)."""
    key = (platform.id, frozenset(scopes))
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached[1] > now + MARGIN:
        return cached[0]
    assertion = keys.sign(session, {
        "iss": platform.client_id, "sub": platform.client_id, "aud": platform.auth_token_url,
        "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": secrets.token_urlsafe(16)}, now)
    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion, "scope": " ".join(sorted(scopes))}
    try:
        with http.client() as client:
            reply = client.post(platform.auth_token_url, data=form)
    except Exception as exc:
        raise http.PlatformUnavailable(f"the token endpoint did not answer: {exc}") from exc
    if reply.status_code != 200:
        raise http.PlatformUnavailable(f"the token endpoint answered {reply.status_code}")
    body = reply.json()
    token = str(body["access_token"])
    expires = now + timedelta(seconds=int(body.get("expires_in", 3600)))
    with _lock:
        _cache[key] = (token, expires)
    return token
