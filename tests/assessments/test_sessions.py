"""Ending sessions a server does not store: signing out, deactivation, and the session generation.

The red team's finding: a copy of the session cookie stayed valid for its whole 12 hours after
signing out. A session and an access token now carry the user's session generation, and count
only while it is current; signing out and deactivation move it on. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from assessments.cli import app
from assessments.config import get_settings
from assessments.db import Database, session_scope
from assessments.models import ApiToken, Role, User
from tests.assessments.conftest import PASSWORD, World
from tests.assessments.lti.conftest import lms, lti_course  # noqa: F401 - the fixture, for the launch test
from tests.assessments.lti.platform import LEARNER, Platform

SESSION_COOKIE = "assay_session"
ME = "/api/v1/auth/me"


def browser(world: World) -> TestClient:
    """A browser of its own (its own cookies)."""
    assert world.client is not None
    world.db.commit()  # what the test made stays, whatever a refused request rolls back
    return TestClient(world.client.app)


def csrf_of(client: TestClient) -> str:
    return client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]


def web_sign_in(client: TestClient, username: str) -> None:
    reply = client.post("/login", data={"csrf_token": csrf_of(client), "username": username, "password": PASSWORD},
                        follow_redirects=False)
    assert reply.status_code == 303, reply.text


def sign_out(client: TestClient) -> Any:
    # The dashboard's form carries the session's own CSRF token (the sign-in page would start a new one).
    token = client.get("/").text.split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/logout", data={"csrf_token": token}, follow_redirects=False)


def with_cookie(world: World, cookie: str) -> TestClient:
    """Another browser holding a copy of ``cookie`` (as an attacker who read it would)."""
    copy = browser(world)
    copy.cookies.set(SESSION_COOKIE, cookie)
    return copy


def can_read_pages(client: TestClient) -> bool:
    reply = client.get("/", follow_redirects=False)
    if reply.status_code == 303:
        assert reply.headers["location"] == "/login?next=/"
        return False
    assert reply.status_code == 200, reply.text
    return True


def generation(db: Session, username: str) -> int:
    db.expire_all()
    return int(db.scalars(select(User.session_generation).where(User.username == username)).one())


def access_token(client: TestClient, username: str) -> dict[str, str]:
    reply = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return {"authorization": f"Bearer {reply.json()['access_token']}"}


# --- signing out ----------------------------------------------------------------------------------


def test_a_copied_session_cookie_stops_working_when_its_owner_signs_out(world: World, db: Session) -> None:
    world.user("ada")
    laptop = browser(world)
    web_sign_in(laptop, "ada")
    copied = laptop.cookies[SESSION_COOKIE]
    assert can_read_pages(with_cookie(world, copied))

    reply = sign_out(laptop)
    assert (reply.status_code, reply.headers["location"]) == (303, "/login")
    assert not can_read_pages(laptop)
    stolen = with_cookie(world, copied)
    assert not can_read_pages(stolen)
    assert stolen.get(ME).status_code == 401  # the API does not take it either
    assert generation(db, "ada") == 1


def test_signing_out_ends_every_session_and_access_token_of_the_user(world: World, db: Session) -> None:
    """One generation per user: signing out in one browser signs out the others, and the access
    tokens issued before (personal API tokens are credentials of their own, and stay)."""
    ada = world.user("ada")
    world.user("ben")
    laptop, phone, bens = browser(world), browser(world), browser(world)
    for client, who in ((laptop, "ada"), (phone, "ada"), (bens, "ben")):
        web_sign_in(client, who)
    script = access_token(laptop, "ada")
    personal = laptop.post("/api/v1/auth/tokens", headers=script, json={"name": "sync"}).json()["token"]

    assert sign_out(laptop).status_code == 303
    assert not can_read_pages(phone)
    assert laptop.get(ME, headers=script).status_code == 401
    assert laptop.get(ME, headers={"authorization": f"Bearer {personal}"}).json()["id"] == ada.id
    assert can_read_pages(bens)  # only ada's
    web_sign_in(phone, "ada")  # signing in again starts a session in the new generation
    assert can_read_pages(phone)
    assert laptop.get(ME, headers=access_token(laptop, "ada")).status_code == 200


def test_an_old_cookie_cannot_sign_anyone_out(world: World, db: Session) -> None:
    """Signing out with a cookie already spent moves nothing: a copy is no use for that either."""
    world.user("ada")
    laptop = browser(world)
    web_sign_in(laptop, "ada")
    copied = laptop.cookies[SESSION_COOKIE]
    csrf = laptop.get("/").text.split('name="csrf_token" value="')[1].split('"')[0]
    assert sign_out(laptop).status_code == 303
    web_sign_in(laptop, "ada")
    stolen = with_cookie(world, copied)
    assert stolen.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert generation(db, "ada") == 1
    assert can_read_pages(laptop)


def test_a_session_from_before_generations_counts_until_the_first_sign_out(world: World, db: Session) -> None:
    """A cookie made before the upgrade (no generation in it) is of the first generation, so
    upgrading signs nobody out; signing out ends it like any other."""
    import base64
    import json

    import itsdangerous

    ada = world.user("ada")
    settings = world.client.app.state.settings  # type: ignore[union-attr]
    signer = itsdangerous.TimestampSigner(settings.resolved_secret_key)
    old = signer.sign(base64.b64encode(json.dumps({"user_id": ada.id, "csrf": "t" * 43}).encode())).decode()
    before = with_cookie(world, old)
    assert can_read_pages(before)
    laptop = browser(world)
    web_sign_in(laptop, "ada")
    assert sign_out(laptop).status_code == 303
    assert not can_read_pages(before)


def test_a_session_begun_by_an_lms_launch_is_in_the_current_generation(lms: Platform, db: Session) -> None:  # noqa: F811
    _, quiz = lti_course(db, lms)
    assert lms.launch("student-1", [LEARNER], custom={"quiz_id": str(quiz.id)}).status_code == 303
    assert lms.client.get(f"/quizzes/{quiz.id}").status_code == 200
    assert sign_out(lms.client).status_code == 303
    assert lms.client.get(f"/quizzes/{quiz.id}", follow_redirects=False).status_code == 303
    assert lms.launch("student-1", [LEARNER], custom={"quiz_id": str(quiz.id)}).status_code == 303
    assert lms.client.get(f"/quizzes/{quiz.id}").status_code == 200


# --- deactivation --------------------------------------------------------------------------------


def deactivate(client: TestClient, admin: dict[str, str], user: User, active: bool = False) -> Any:
    return client.patch(f"/api/v1/users/{user.id}", headers=admin, json={"is_active": active})


def test_deactivation_ends_everything_and_reactivation_brings_none_of_it_back(world: World, db: Session) -> None:
    ada = world.user("ada")
    root = world.user("root", Role.ADMIN)
    laptop = browser(world)
    web_sign_in(laptop, "ada")
    script = access_token(laptop, "ada")
    personal = laptop.post("/api/v1/auth/tokens", headers=script, json={"name": "sync"}).json()["token"]
    admin = access_token(laptop, "root")
    assert root.id != ada.id

    reply = deactivate(laptop, admin, ada)
    assert reply.status_code == 200, reply.text
    assert reply.json() | {"id": 0} == {"id": 0, "username": "ada", "display_name": "Ada", "email": None,
                                        "role": "student", "is_active": False}
    assert not can_read_pages(laptop)
    assert laptop.post("/api/v1/auth/token", json={"username": "ada", "password": PASSWORD}).status_code == 401

    assert deactivate(laptop, admin, ada, active=True).json()["is_active"] is True
    assert not can_read_pages(with_cookie(world, laptop.cookies.get(SESSION_COOKIE) or ""))
    for credential in (script, {"authorization": f"Bearer {personal}"}):
        assert laptop.get(ME, headers=credential).status_code == 401
    db.expire_all()
    assert db.scalars(select(ApiToken.revoked_at).where(ApiToken.user_id == ada.id)).one() is not None
    assert generation(db, "ada") == 1
    web_sign_in(laptop, "ada")  # a new sign-in works
    assert can_read_pages(laptop)


def test_a_copied_cookie_does_not_outlive_a_deactivation(world: World) -> None:
    ada = world.user("ada")
    world.user("root", Role.ADMIN)
    laptop = browser(world)
    web_sign_in(laptop, "ada")
    copied = laptop.cookies[SESSION_COOKIE]
    admin = access_token(laptop, "root")
    assert deactivate(laptop, admin, ada).status_code == 200
    assert deactivate(laptop, admin, ada, active=True).status_code == 200
    assert not can_read_pages(with_cookie(world, copied))


def test_only_an_administrator_deactivates_and_not_themselves(world: World) -> None:
    ada = world.user("ada")
    root = world.user("root", Role.ADMIN)
    client = browser(world)
    admin, student = access_token(client, "root"), access_token(client, "ada")
    refused = deactivate(client, student, root)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    own = deactivate(client, admin, root)
    assert own.status_code == 409
    assert own.json()["error"] == {"code": "own_account", "message": "you cannot deactivate your own account"}
    missing = client.patch("/api/v1/users/999999", headers=admin, json={"is_active": False})
    assert (missing.status_code, missing.json()["error"]["message"]) == (404, "no user 999999")
    for body in ({}, {"is_active": "maybe"}, {"is_active": False, "role": "admin"}):
        assert client.patch(f"/api/v1/users/{ada.id}", headers=admin, json=body).status_code == 422, body
    assert client.get(ME, headers=student).status_code == 200  # nothing refused changed anything


def test_assay_user_deactivate_and_activate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ASSAY_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["user", "create", "ada", "--password", "a long password"]).exit_code == 0
        done = runner.invoke(app, ["user", "deactivate", "ada"])
        assert (done.exit_code, done.output) == (0, "ada is deactivated\n")
        missing = runner.invoke(app, ["user", "deactivate", "nobody"])
        assert missing.exit_code == 1 and "error: no user 'nobody'" in missing.output
        database = Database(get_settings().resolved_database_url)
        try:
            with session_scope(database) as session:
                ada = session.scalars(select(User).where(User.username == "ada")).one()
                assert (ada.is_active, ada.session_generation) == (False, 1)
            assert runner.invoke(app, ["user", "activate", "ada"]).output == "ada is active\n"
            with session_scope(database) as session:
                ada = session.scalars(select(User).where(User.username == "ada")).one()
                assert (ada.is_active, ada.session_generation) == (True, 1)
        finally:
            database.dispose()
    finally:
        get_settings.cache_clear()
