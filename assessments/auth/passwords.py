"""Password hashes: argon2id with OWASP's recommended parameters, re-hashed when they move on.

OWASP's Password Storage Cheat Sheet recommends argon2id with at least 19 MiB of memory, 2
iterations and 1 lane. argon2-cffi's default (RFC 9106's low-memory profile: 64 MiB, 3
iterations, 4 lanes) costs about eight times the CPU per sign-in, and a server signs in a whole
class at the start of an exam: at that cost the hashing alone would take more CPU than serving the
exam. Hashes made with other parameters still verify, and are re-hashed at the next sign-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return bool(_HASHER.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return bool(_HASHER.check_needs_rehash(stored))
