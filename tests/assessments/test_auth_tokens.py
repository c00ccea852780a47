"""Signing in, and personal API tokens from creation to revocation.

A sign-in that fails says only that the username or password is wrong, never which, and takes a
password check either way. A personal token is shown once, when it is made; the database keeps
its SHA-256 only. It can be listed, used, limited to scopes, left to expire, and revoked; and a
token can never make a token that may do more than itself.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from assessments.auth import service as auth_service
from assessments.auth.tokens import PERSONAL_PREFIX
from assessments.models import ApiToken, CourseRole, Role, User
from tests.assessments.conftest import PASSWORD, Clock, World
from tests.assessments.test_walkthroughs import token_for

SIGN_IN = "/api/v1/auth/token"
TOKENS = "/api/v1/auth/tokens"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def signed_in(world: World, user: User) -> dict[str, str]:
    """An access token for ``user`` without the (deliberately slow) sign-in."""
    assert world.client is not None
    return token_for(world.client, user)


def api_of(world: World) -> TestClient:
    assert world.client is not None
    world.db.commit()  # a refused request rolls back whatever the test had not committed
    return world.client


def make_token(api: TestClient, headers: dict[str, str], *scopes: str, **options: Any) -> dict[str, Any]:
    asked = {"name": "gradebook sync", **({"scopes": list(scopes)} if scopes else {}), **options}
    reply = api.post(TOKENS, headers=headers, json=asked)
    assert reply.status_code == 201, reply.text
    made: dict[str, Any] = reply.json()
    return made


# --- signing in ---------------------------------------------------------------------------------


def test_signing_in_gives_a_bearer_token_that_expires(world: World, clock: Clock) -> None:
    world.user("ada")
    api = api_of(world)
    reply = api.post(SIGN_IN, json={"username": "ada", "password": PASSWORD})
    assert reply.status_code == 200
    body = reply.json()
    assert body["token_type"] == "bearer" and body["expires_at"] == "2026-11-02T10:00:00Z"
    assert api.get("/api/v1/auth/me", headers=bearer(body["access_token"])).json()["username"] == "ada"
    clock.advance(hours=1)
    assert api.get("/api/v1/auth/me", headers=bearer(body["access_token"])).status_code == 401


def test_a_hash_with_older_parameters_is_replaced_at_sign_in(world: World, db: Session) -> None:
    """Hashes are argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane); a hash made with
    argon2-cffi's heavier default still verifies, and the sign-in stores a hash on the current ones."""
    from argon2 import PasswordHasher, extract_parameters

    ada = world.user("ada")
    ada.password_hash = PasswordHasher().hash(PASSWORD)  # 64 MiB, 3 iterations, 4 lanes
    api = api_of(world)
    assert api.post(SIGN_IN, json={"username": "ada", "password": PASSWORD}).status_code == 200
    db.expire_all()
    stored = db.scalars(select(User.password_hash).where(User.username == "ada")).one()
    assert stored is not None
    parameters = extract_parameters(stored)
    assert (parameters.type.name, parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (
        "ID", 19 * 1024, 2, 1)
    assert api.post(SIGN_IN, json={"username": "ada", "password": PASSWORD}).status_code == 200


def test_a_failed_sign_in_does_not_say_which_part_was_wrong(world: World) -> None:
    world.user("ada")
    world.user("gone").is_active = False
    api = api_of(world)
    attempts = {
        "wrong password": {"username": "ada", "password": "wrong horse battery"},
        "unknown user": {"username": "nobody", "password": PASSWORD},
        "deactivated user": {"username": "gone", "password": PASSWORD},
        "wrong case": {"username": "ADA", "password": PASSWORD},
    }
    replies = {why: api.post(SIGN_IN, json=body) for why, body in attempts.items()}
    for why, reply in replies.items():
        assert reply.status_code == 401, why
        assert reply.headers["www-authenticate"] == "Bearer"
        assert reply.json() == {"error": {"code": "bad_credentials", "message": "wrong username or password"}}
    assert len({r.text for r in replies.values()}) == 1


def test_every_failed_sign_in_costs_a_password_check(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown or deactivated username is refused no faster than a wrong password, so the
    time a refusal takes does not tell which usernames exist."""
    world.user("ada")
    world.user("gone").is_active = False
    api = api_of(world)
    checks: list[str] = []
    real = auth_service.verify_password

    def counted(stored: str | None, password: str) -> bool:
        checks.append(password)
        return real(stored, password)

    monkeypatch.setattr(auth_service, "verify_password", counted)
    for username in ("ada", "nobody", "gone"):
        checks.clear()
        assert api.post(SIGN_IN, json={"username": username, "password": "not it at all"}).status_code == 401
        assert checks == ["not it at all"], username


def test_a_malformed_sign_in_is_a_422_not_a_hint(world: World) -> None:
    api = api_of(world)
    reply = api.post(SIGN_IN, json={"username": "ada"})
    assert reply.status_code == 422 and reply.json()["error"]["code"] == "malformed"


# --- personal tokens --------------------------------------------------------------------------------


def test_a_personal_token_is_shown_once_and_stored_as_its_sha256(world: World, db: Session) -> None:
    ada = world.user("ada")
    api = api_of(world)
    me = signed_in(world, ada)
    made = make_token(api, me, "read", "write")
    secret = made["token"]
    assert secret.startswith(PERSONAL_PREFIX) and len(secret) > len(PERSONAL_PREFIX) + 40
    assert made["scopes"] == ["read", "write"] and made["expires_at"] is None and made["revoked_at"] is None

    # The database has the hash; no column of the row holds the token or any long part of it.
    row = db.get(ApiToken, made["id"])
    assert row is not None and row.user_id == ada.id
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = db.execute(text("SELECT * FROM api_tokens WHERE id = :id"), {"id": made["id"]}).one()
    body = secret.removeprefix(PERSONAL_PREFIX)
    assert not any(body[:16] in str(value) for value in stored)

    # Listing shows the token's name, scopes and dates, never the token again.
    listed = api.get(TOKENS, headers=me)
    assert [t["id"] for t in listed.json()] == [made["id"]]
    assert "token" not in listed.json()[0] and body[:16] not in listed.text
    assert set(listed.json()[0]) == {"id", "name", "scopes", "created_at", "expires_at", "revoked_at"}


def test_a_personal_token_is_used_then_revoked(world: World, clock: Clock) -> None:
    ada = world.user("ada")
    api = api_of(world)
    me = signed_in(world, ada)
    made = make_token(api, me, "read")
    assert api.get("/api/v1/auth/me", headers=bearer(made["token"])).json()["username"] == "ada"

    clock.advance(minutes=5)
    revoked = api.delete(f"{TOKENS}/{made['id']}", headers=me)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] == "2026-11-02T09:05:00Z"
    refused = api.get("/api/v1/auth/me", headers=bearer(made["token"]))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    # Revoking again changes nothing; the list says when it was revoked.
    clock.advance(minutes=5)
    assert api.delete(f"{TOKENS}/{made['id']}", headers=me).json()["revoked_at"] == "2026-11-02T09:05:00Z"
    assert api.get(TOKENS, headers=me).json()[0]["revoked_at"] == "2026-11-02T09:05:00Z"


def test_a_token_can_revoke_itself_but_nobody_elses(world: World) -> None:
    ada, ben = world.user("ada"), world.user("ben", Role.ADMIN)
    api = api_of(world)
    adas = make_token(api, signed_in(world, ada), "read", "write")
    bens_token = bearer(make_token(api, signed_in(world, ben), "read", "write", "admin")["token"])
    for other in (signed_in(world, ben), bens_token):
        reply = api.delete(f"{TOKENS}/{adas['id']}", headers=other)
        assert reply.status_code == 404 and reply.json()["error"]["code"] == "not_found"
    assert api.get("/api/v1/auth/me", headers=bearer(adas["token"])).status_code == 200
    assert api.delete(f"{TOKENS}/{adas['id']}", headers=bearer(adas["token"])).status_code == 200
    assert api.get("/api/v1/auth/me", headers=bearer(adas["token"])).status_code == 401


def test_a_personal_token_expires_when_it_says(world: World, clock: Clock) -> None:
    api = api_of(world)
    me = signed_in(world, world.user("ada"))
    made = make_token(api, me, "read", expires_in_days=1)
    assert made["expires_at"] == "2026-11-03T09:00:00Z"
    clock.advance(days=1, seconds=-1)
    assert api.get("/api/v1/auth/me", headers=bearer(made["token"])).status_code == 200
    clock.advance(seconds=1)
    assert api.get("/api/v1/auth/me", headers=bearer(made["token"])).status_code == 401


# --- scopes -------------------------------------------------------------------------------------------


def test_scopes_limit_what_a_token_may_do(world: World) -> None:
    teacher = world.user("teacher", Role.INSTRUCTOR)
    world.course("llms", (teacher, CourseRole.INSTRUCTOR))
    api = api_of(world)
    me = signed_in(world, teacher)
    reader = bearer(make_token(api, me, "read")["token"])
    writer = bearer(make_token(api, me, "write")["token"])
    enrol = {"username": "teacher", "role": "instructor"}

    assert api.get("/api/v1/courses/llms", headers=reader).status_code == 200
    refused = api.post("/api/v1/courses/llms/enrolments", headers=reader, json=enrol)
    assert refused.status_code == 403
    assert refused.json()["error"] == {"code": "insufficient_scope", "message": "this token lacks the 'write' scope"}

    assert api.post("/api/v1/courses/llms/enrolments", headers=writer, json=enrol).status_code == 201
    refused = api.get("/api/v1/courses/llms", headers=writer)
    assert refused.status_code == 403 and refused.json()["error"]["message"] == "this token lacks the 'read' scope"


def test_a_token_asks_for_scopes_that_exist(world: World) -> None:
    api = api_of(world)
    me = signed_in(world, world.user("ada"))
    assert make_token(api, me)["scopes"] == ["read"], "read only, unless asked"
    assert make_token(api, me, "write", "read", "write")["scopes"] == ["read", "write"]
    for scopes in (["root"], [], ["read", "everything"]):
        reply = api.post(TOKENS, headers=me, json={"name": "x", "scopes": scopes})
        assert reply.status_code == 422, scopes


def test_the_admin_scope_and_the_admin_role_are_both_needed(world: World) -> None:
    admin, ada = world.user("root", Role.ADMIN), world.user("ada")
    api = api_of(world)
    admin_token = bearer(make_token(api, signed_in(world, admin), "read", "admin")["token"])
    admin_without = bearer(make_token(api, signed_in(world, admin), "read", "write")["token"])
    student_with = bearer(make_token(api, signed_in(world, ada), "read", "admin")["token"])
    assert api.get("/api/v1/users", headers=admin_token).status_code == 200
    lacking = api.get("/api/v1/users", headers=admin_without)
    assert (lacking.status_code, lacking.json()["error"]["code"]) == (403, "insufficient_scope")
    not_admin = api.get("/api/v1/users", headers=student_with)
    assert (not_admin.status_code, not_admin.json()["error"]["code"]) == (403, "forbidden")


def test_a_token_cannot_make_a_token_that_may_do_more_than_itself(world: World) -> None:
    admin = world.user("root", Role.ADMIN)
    api = api_of(world)
    session = signed_in(world, admin)
    limited = bearer(make_token(api, session, "read", "write")["token"])

    for wider in (["read", "write", "admin"], ["admin"], ["grade"]):
        reply = api.post(TOKENS, headers=limited, json={"name": "escalate", "scopes": wider})
        assert reply.status_code == 403, wider
        assert reply.json()["error"]["code"] == "insufficient_scope"
    # Narrower or equal is fine; a signed-in user (not a token) may ask for any scope.
    assert make_token(api, limited, "read")["scopes"] == ["read"]
    assert make_token(api, limited, "read", "write")["scopes"] == ["read", "write"]
    assert make_token(api, session, "read", "admin")["scopes"] == ["admin", "read"]
    assert api.get("/api/v1/users", headers=limited).status_code == 403


def test_a_remembered_signature_still_expires_and_binds_to_its_secret() -> None:
    from datetime import UTC, datetime, timedelta

    from assessments.auth.tokens import issue_access_token, read_access_token

    now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)  # (PyJWT refuses an "issued at" past its own clock)
    token, expires = issue_access_token(7, "s" * 40, now, 15)
    assert read_access_token(token, "s" * 40, now) == 7
    assert read_access_token(token, "s" * 40, now) == 7  # remembered
    assert read_access_token(token, "s" * 40, expires) is None  # expiry is read against the clock each time
    assert read_access_token(token, "t" * 40, now) is None  # another secret did not sign it
    assert read_access_token(token + "x", "s" * 40, now) is None
    assert read_access_token(token, "s" * 40, now - timedelta(minutes=1)) == 7
