"""Assay's RSA signing keys: kept in the database, published as a JWKS, rotated with a grace period.

The newest key without a retirement time signs everything Assay sends a platform (deep linking
responses, service token assertions). Rotating makes a new key and gives the old one a retirement
time: until then it stays in ``/lti/jwks``, so a platform that cached it can still check what it
signed. The key id is the key's RFC 7638 thumbprint.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from assessments.models import LtiKey

KEY_BITS = 2048
DEFAULT_GRACE = timedelta(days=7)
"""How long a rotated-out key stays published: longer than any platform caches a key set."""


def public_jwk(private_key_pem: str) -> dict[str, Any]:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"kty": "RSA", "e": jwk["e"], "n": jwk["n"]}


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: the SHA-256 of the required members in lexicographic order, base64url."""
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def new_key(now: datetime) -> LtiKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return LtiKey(kid=thumbprint(public_jwk(pem)), private_key_pem=pem, created_at=now)


def signing_key(session: Session, now: datetime) -> LtiKey:
    """The key that signs now (made on first use)."""
    key = session.scalars(select(LtiKey).where(LtiKey.retire_at.is_(None))
                          .order_by(LtiKey.created_at.desc(), LtiKey.id.desc()).limit(1)).first()
    if key is None:
        key = new_key(now)
        session.add(key)
        session.flush()
    return key


def rotate(session: Session, now: datetime, grace: timedelta = DEFAULT_GRACE) -> LtiKey:
    """A new signing key; the keys it replaces stay published for ``grace``."""
    for old in session.scalars(select(LtiKey).where(LtiKey.retire_at.is_(None))):
        old.retire_at = now + grace
    key = new_key(now)
    session.add(key)
    session.flush()
    return key


def published(session: Session, now: datetime) -> dict[str, Any]:
    """The JWKS: every key that signs or is within its grace period."""
    signing_key(session, now)
    keys = session.scalars(select(LtiKey).where(or_(LtiKey.retire_at.is_(None), LtiKey.retire_at > now))
                           .order_by(LtiKey.id))
    return {"keys": [public_jwk(k.private_key_pem) | {"kid": k.kid, "alg": "RS256", "use": "sig"}
                     for k in keys]}


def sign(session: Session, claims: dict[str, Any], now: datetime) -> str:
    key = signing_key(session, now)
    return jwt.encode(claims, key.private_key_pem, algorithm="RS256", headers={"kid": key.kid})
