"""Device cookies: a browser that has signed in as a username before is known again when it signs in.

OWASP's "Slow Down Online Guessing Attacks with Device Cookies": a successful sign-in in a browser
gives it a signed cookie bound to the username; a later sign-in for that username that presents
the cookie is limited on that cookie's own failures, not on the failures of every other client
(:class:`assessments.limits.Limits`). A classmate typing wrong passwords for a student's name on a
lab machine therefore never holds the student up on their own laptop, and a guesser without the
cookie is slowed as before.

The cookie is ``NONCE.ISSUED.MAC``: a random nonce, when it was issued (seconds, service clock),
and an HMAC-SHA256 of the casefolded username, the nonce and the time under a key derived from the
secret key. It names no username (only a sign-in for the right one verifies it), says nothing
about the password, and signs nobody in: it only decides which count a sign-in's failure joins.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

COOKIE = "assay_device"
PATH = "/login"
"""The browser sends the cookie to the sign-in form only."""
MAX_LENGTH = 128
"""Longer values are not a cookie Assay made; they are ignored unread."""
CLOCK_SKEW_SECONDS = 300
"""How far ahead of this process's clock a cookie's time may be (another host's clock)."""


class DeviceCookies:
    """Issues and checks device cookies under one secret key; they last ``days``."""

    def __init__(self, secret: str, days: int) -> None:
        # A key of their own: a device cookie's MAC is never a valid session or token signature.
        self._key = hashlib.sha256(b"assay device cookie\0" + secret.encode()).digest()
        self.max_age = days * 24 * 60 * 60

    def issue(self, username: str, now: datetime) -> str:
        """A new cookie for a browser that has just signed in as ``username``."""
        nonce = secrets.token_urlsafe(16)
        issued = str(int(now.timestamp()))
        return f"{nonce}.{issued}.{self._mac(username, nonce, issued)}"

    def nonce(self, cookie: str | None, username: str, now: datetime) -> str | None:
        """The cookie's nonce when it is a valid, unexpired cookie for ``username``; else None."""
        if not cookie or len(cookie) > MAX_LENGTH:
            return None
        nonce, _, rest = cookie.partition(".")
        issued, _, mac = rest.partition(".")
        if not (nonce and issued.isascii() and issued.isdigit() and len(issued) <= 12 and mac):
            return None
        if not hmac.compare_digest(mac, self._mac(username, nonce, issued)):
            return None
        age = now.timestamp() - int(issued)
        return nonce if -CLOCK_SKEW_SECONDS <= age < self.max_age else None

    def _mac(self, username: str, nonce: str, issued: str) -> str:
        message = f"{username.casefold()}\0{nonce}\0{issued}".encode()
        return base64.urlsafe_b64encode(hmac.new(self._key, message, hashlib.sha256).digest()).decode().rstrip("=")
