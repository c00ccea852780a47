"""Who may call what: every route of the app, for every kind of caller.

The matrix has one row per route (method and path) and one column per caller. A route the app
serves without a row fails :func:`test_every_route_has_a_row`, so a new endpoint cannot ship
without saying who may use it. Each row runs against one scene (two courses with their people, an
interactive quiz in the first, and a student's attempt in progress with one try checked); every
caller's request is undone before the next caller's, so each sees the same scene.

API rows are called with bearer credentials. Besides the seven roles of the table, the callers are
personal tokens limited to ``read`` (they may GET what their owner may, and nothing else: 403
``insufficient_scope``), an admin's token without the ``admin`` scope, and credentials that are
no good (expired, tampered, revoked): 401 everywhere. Web page rows are called with each role's
signed session cookie (an anonymous visitor's session holds only a CSRF token) and forms carry
the CSRF token; ``LOGIN`` there means "sent to the sign-in page".
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import itsdangerous
import jwt
import pytest
import yaml
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Connection, update
from sqlalchemy.orm import Session

from assessments.app import create_app
from assessments.auth.schemas import PersonalTokenCreate
from assessments.auth.service import create_personal_token, revoke_personal_token
from assessments.auth.tokens import ALGORITHM, Scope, issue_access_token
from assessments.config import Settings
from assessments.db import Database
from assessments.models import Bank, BankGrant, CourseRole, Role, User
from assessments.web.security import CSRF_FIELD, CSRF_HEADER
from tests.assessments.conftest import PASSWORD, SAMPLES, T0, Clock, World, serve_from

# --- the callers --------------------------------------------------------------------------------

ROLES = ("anonymous", "admin", "instructor", "student", "classmate", "outsider_instructor", "outsider_student")
"""The matrix's columns: nobody; an administrator; the course's instructor; the student who owns
the attempt; another student of the course; an instructor and a student of another course only."""

READ_ONLY_TOKENS = {"student_read_token": "student", "instructor_read_token": "instructor"}
"""Personal tokens with the ``read`` scope only: GET as their owner, every write 403."""
ADMIN_WITHOUT_ADMIN_SCOPE = "admin_token_without_admin_scope"
"""An administrator's personal token with ``read`` and ``write`` but not ``admin``."""
BAD_CREDENTIALS = ("expired_access_token", "tampered_access_token", "revoked_personal_token",
                   "expired_personal_token")
"""Credentials that identify nobody any more: treated as no credentials at all (401)."""

API_CALLERS = ROLES + tuple(READ_ONLY_TOKENS) + (ADMIN_WITHOUT_ADMIN_SCOPE, *BAD_CREDENTIALS)
PUBLIC_CALLERS = ("anonymous", "student", "student_read_token", "tampered_access_token")
"""Public routes ignore credentials; a few callers show it (signing in is slow by design)."""
CSRF = "csrf-token-of-the-scene"
SESSION_COOKIE = "assay_session"
LOGIN = "login"
"""A web page's answer to someone not signed in: a redirect to the sign-in page."""


# --- the scene ----------------------------------------------------------------------------------


@dataclass
class Scene:
    """What every row runs against: ids and credentials only (the ORM objects are gone)."""

    course: str
    quiz_id: int
    attempt_id: int
    try_again_seq: int
    submitted_attempt_id: int
    """The student's finished attempt at another quiz of the course (an essay, waiting for a grade)."""
    token_id: int
    group_id: int
    """The course's group ``extra-time`` (the student), with an override at the quiz."""
    override_id: int
    practice_id: int = 0
    question_id: int = 0
    """The student's open question in the course's practice."""
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per caller, the headers of an API call (a bearer token, or none)."""
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per role, the headers of a web page request (the signed session cookie)."""


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def session_cookie(settings: Settings, **session: Any) -> dict[str, str]:
    """A session cookie as Starlette's SessionMiddleware signs it."""
    signer = itsdangerous.TimestampSigner(settings.resolved_secret_key)
    signed = signer.sign(base64.b64encode(json.dumps(session).encode())).decode()
    return {"cookie": f"{SESSION_COOKIE}={signed}"}


def access_token(user: User, settings: Settings, clock: Clock, *, minutes_ago: float = 0) -> str:
    issued = clock.now - timedelta(minutes=minutes_ago)
    return issue_access_token(user.id, settings.resolved_secret_key, issued, settings.access_token_minutes)[0]


def personal_token(db: Session, user: User, clock: Clock, *scopes: Scope, days: int | None = None,
                   days_ago: float = 0) -> tuple[int, str]:
    created = clock.now - timedelta(days=days_ago)
    row, secret = create_personal_token(
        db, user, PersonalTokenCreate(name="lms", scopes=list(scopes), expires_in_days=days), created)
    return row.id, secret


def tampered(token: str, **claims: Any) -> str:
    """The token with its payload rewritten (claims changed) and the original signature kept."""
    header, payload, signature = token.split(".")
    padded = payload + "=" * (-len(payload) % 4)
    data = json.loads(base64.urlsafe_b64decode(padded)) | claims
    rewritten = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{rewritten}.{signature}"


def build_scene(world: World, settings: Settings, clock: Clock) -> Scene:
    admin = world.user("admin", Role.ADMIN)
    teacher = world.user("teacher", Role.INSTRUCTOR)
    student = world.user("student")
    classmate = world.user("classmate")
    other_teacher = world.user("other-teacher", Role.INSTRUCTOR)
    other_student = world.user("other-student")
    llms = world.course("llms", (teacher, CourseRole.INSTRUCTOR), (student, CourseRole.STUDENT),
                        (classmate, CourseRole.STUDENT))
    rl = world.course("rl", (other_teacher, CourseRole.INSTRUCTOR), (other_student, CourseRole.STUDENT))
    shared = Bank(slug="llms-shared", title="Shared by llms", course_id=llms.id, created_at=clock.now)
    world.db.add(shared)
    world.db.flush()
    world.db.add(BankGrant(bank_id=shared.id, course_id=rl.id, can_edit=False, created_at=clock.now))
    quiz = world.quiz(llms, ["numeric", "bradley-terry-preference-probability"], behaviour="interactive")
    people = {"admin": admin, "instructor": teacher, "student": student, "classmate": classmate,
              "outsider_instructor": other_teacher, "outsider_student": other_student}
    headers = {"anonymous": {}} | {role: bearer(access_token(user, settings, clock))
                                   for role, user in people.items()}
    cookies = {"anonymous": session_cookie(settings, csrf=CSRF)} | {
        role: session_cookie(settings, user_id=user.id, csrf=CSRF) for role, user in people.items()}
    for name, owner in READ_ONLY_TOKENS.items():
        headers[name] = bearer(personal_token(world.db, people[owner], clock, Scope.READ)[1])
    headers[ADMIN_WITHOUT_ADMIN_SCOPE] = bearer(personal_token(world.db, admin, clock, Scope.READ, Scope.WRITE)[1])
    headers["expired_access_token"] = bearer(access_token(student, settings, clock, minutes_ago=61))
    headers["tampered_access_token"] = bearer(
        tampered(access_token(student, settings, clock), sub=str(admin.id)))
    revoked_id, revoked = personal_token(world.db, student, clock, Scope.READ, Scope.WRITE)
    revoke_personal_token(world.db, student, revoked_id, clock.now)
    headers["revoked_personal_token"] = bearer(revoked)
    headers["expired_personal_token"] = bearer(
        personal_token(world.db, student, clock, Scope.READ, Scope.WRITE, days=1, days_ago=2)[1])
    token_id, _ = personal_token(world.db, student, clock, Scope.READ)

    # The student is in the middle of the quiz: slot 2 has a wrong try, waiting for "try again".
    api = world.client
    assert api is not None
    started = api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers["student"])
    assert started.status_code == 201, started.text
    attempt_id = started.json()["id"]
    checked = api.post(f"/api/v1/attempts/{attempt_id}/slots/2/check", headers=headers["student"],
                       json={"response": {"answer": "99"}, "seq": 0})
    assert checked.status_code == 200, checked.text
    # ...and has finished an essay quiz, which waits for a grader.
    essay = world.quiz(llms, ["essay"])
    finished = api.post(f"/api/v1/quizzes/{essay.id}/attempts", headers=headers["student"]).json()["id"]
    saved = api.put(f"/api/v1/attempts/{finished}/responses/1", headers=headers["student"],
                    json={"response": {"text": "The policy games the reward model."}, "seq": 0})
    assert saved.status_code == 200, saved.text
    assert api.post(f"/api/v1/attempts/{finished}/submit", headers=headers["student"]).status_code == 200
    # The student has extra time, through a group.
    group = api.post("/api/v1/courses/llms/groups", headers=headers["instructor"],
                     json={"name": "extra-time", "members": ["student"]})
    assert group.status_code == 201, group.text
    override = api.post(f"/api/v1/quizzes/{quiz.id}/overrides", headers=headers["instructor"],
                        json={"group": "extra-time", "attempts_allowed": 3})
    assert override.status_code == 201, override.text
    # ...and is practising: one question is open, waiting for an answer.
    practised = world.quiz(llms, ["bradley-terry-preference-probability"])
    practice = api.post("/api/v1/courses/llms/practices", headers=headers["instructor"],
                        json={"title": "Practice", "quiz_id": practised.id})
    assert practice.status_code == 201, practice.text
    asked = api.post(f"/api/v1/practices/{practice.json()['id']}/next", headers=headers["student"])
    assert asked.status_code == 200, asked.text
    return Scene(course="llms", quiz_id=quiz.id, attempt_id=attempt_id, try_again_seq=checked.json()["seq"],
                 submitted_attempt_id=finished, token_id=token_id, group_id=group.json()["id"],
                 override_id=override.json()["id"], practice_id=practice.json()["id"],
                 question_id=asked.json()["question"]["id"], headers=headers, cookies=cookies)


# --- the matrix ---------------------------------------------------------------------------------

Body = Callable[[Scene], dict[str, Any]]
"""Keyword arguments for the request (json=, content=, data=, params=), made from the scene."""
Outcome = int | str
"""A status, or LOGIN."""


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: dict[str, Outcome]
    request: Body | None = None
    public: bool = False
    """Needs no credentials: every caller gets the same answer."""
    admin_scope: bool = False
    """Administrators only, and their tokens need the ``admin`` scope."""
    grade_scope: bool = False
    """Grading: personal tokens need the ``grade`` scope, even to read."""
    web: bool = False
    """A web page (session cookie and CSRF token) rather than the API (bearer credentials)."""
    slot: int = 1
    submitted: bool = False
    """The path's attempt is the finished one, not the one in progress."""
    example: str | None = None
    """The URL to request where the path is a prefix (a mount)."""
    codes: dict[str, str] = field(default_factory=dict)
    """Per role, the error code of a refusal that says more than its status (``bank_read_only``)."""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def callers(self) -> tuple[str, ...]:
        if self.public:
            return ("anonymous", "student") if self.web else PUBLIC_CALLERS
        return ROLES if self.web else API_CALLERS

    def url(self, scene: Scene) -> str:
        return self.example or self.path.format(
            course=scene.course, quiz_id=scene.quiz_id, slot=self.slot,
            attempt_id=scene.submitted_attempt_id if self.submitted else scene.attempt_id,
            key="short", token_id=scene.token_id, job_id=0, bank="course:llms", group_id=scene.group_id,
            override_id=scene.override_id, practice_id=scene.practice_id, question_id=scene.question_id)

    def headers(self, scene: Scene, caller: str) -> dict[str, str]:
        return scene.cookies[caller] if self.web else scene.headers[caller]

    def expected(self, caller: str) -> tuple[Outcome, str | None]:
        """The status (or LOGIN), and for API refusals the error code."""
        if self.public or self.web:
            status = self.expect["anonymous" if self.public else caller]
            return status, None if self.web else _code(status, scoped=False)
        if caller in BAD_CREDENTIALS:
            return 401, "unauthorized"
        if caller in READ_ONLY_TOKENS:
            if self.method != "GET" or self.admin_scope or self.grade_scope:
                return 403, "insufficient_scope"
            status = self.expect[READ_ONLY_TOKENS[caller]]
            return status, _code(status, scoped=False)
        if caller == ADMIN_WITHOUT_ADMIN_SCOPE and (self.admin_scope or self.grade_scope):
            return 403, "insufficient_scope"
        role = "admin" if caller == ADMIN_WITHOUT_ADMIN_SCOPE else caller
        status = self.expect[role]
        return status, self.codes.get(role, _code(status, scoped=False))


def _code(status: Outcome, *, scoped: bool) -> str | None:
    """The error code an API refusal carries: a missing scope is told apart from a missing role."""
    return {401: "unauthorized", 404: "not_found",
            403: "insufficient_scope" if scoped else "forbidden"}.get(status)  # type: ignore[call-overload]


def row(method: str, path: str, *outcomes: Outcome, request: Body | None = None, public: bool = False,
        admin_scope: bool = False, grade_scope: bool = False, web: bool = False, slot: int = 1,
        submitted: bool = False, example: str | None = None, codes: dict[str, str] | None = None) -> Row:
    if public:
        outcomes = outcomes * len(ROLES)
    assert len(outcomes) == len(ROLES), f"{method} {path}: one outcome per role in {ROLES}"
    return Row(method, path, dict(zip(ROLES, outcomes, strict=True)), request, public, admin_scope, grade_scope,
               web, slot, submitted, example, codes or {})


def web(method: str, path: str, *outcomes: Outcome, **options: Any) -> Row:
    return row(method, path, *outcomes, web=True, **options)


def form(**fields: str) -> Body:
    """A web form, with the session's CSRF token."""
    return lambda s: {"data": {CSRF_FIELD: CSRF, **fields}}


def _definition(key: str, **changes: Any) -> dict[str, Any]:
    import textwrap

    return yaml.safe_load(textwrap.dedent(SAMPLES[key])) | changes


NEW_ITEM = _definition("short", id="authorization-matrix-item", title="A new item")
LTI_PLATFORM = {"issuer": "https://lms.example.edu", "client_id": "assay", "deployment_ids": ["1"],
                "auth_login_url": "https://lms.example.edu/auth", "auth_token_url": "https://lms.example.edu/token",
                "jwks_url": "https://lms.example.edu/jwks"}
ANSWER = {"response": {"answer": "99"}, "seq": 0}
WEB_ANSWER = {"s1-present": "1", "s1-answer": "99", "s1-seq": "0"}
L = LOGIN
READ_ONLY_BANK = {"instructor": "bank_read_only", "outsider_instructor": "bank_read_only"}
"""The library's items: instructors read and use them, only administrators change them."""

MATRIX = [
    # method, path,                                               anon admin instr stud  clsm  out-i out-s
    row("POST", "/api/v1/auth/token", 200, public=True,
        request=lambda s: {"json": {"username": "student", "password": PASSWORD}}),
    row("GET", "/api/v1/auth/me",                                  401, 200, 200, 200, 200, 200, 200),
    row("POST", "/api/v1/auth/tokens",                             401, 201, 201, 201, 201, 201, 201,
        request=lambda s: {"json": {"name": "script", "scopes": ["read"]}}),
    row("GET", "/api/v1/auth/tokens",                              401, 200, 200, 200, 200, 200, 200),
    row("DELETE", "/api/v1/auth/tokens/{token_id}",                401, 404, 404, 200, 404, 404, 404),
    row("POST", "/api/v1/users",                                   401, 201, 403, 403, 403, 403, 403,
        admin_scope=True, request=lambda s: {"json": {"username": "newcomer", "display_name": "New",
                                                      "password": "long enough"}}),
    row("GET", "/api/v1/users",                                    401, 200, 403, 403, 403, 403, 403,
        admin_scope=True),
    row("PATCH", "/api/v1/users/{user_id}",                        401, 404, 403, 403, 403, 403, 403,
        admin_scope=True, example="/api/v1/users/999999", request=lambda s: {"json": {"is_active": True}}),
    row("POST", "/api/v1/courses",                                 401, 201, 201, 403, 403, 201, 403,
        request=lambda s: {"json": {"slug": "new-course", "title": "New"}}),
    row("GET", "/api/v1/courses",                                  401, 200, 200, 200, 200, 200, 200),
    row("GET", "/api/v1/courses/{course}",                         401, 200, 200, 200, 200, 404, 404),
    row("POST", "/api/v1/courses/{course}/enrolments",             401, 201, 201, 403, 403, 404, 404,
        request=lambda s: {"json": {"username": "other-student"}}),
    row("GET", "/api/v1/courses/{course}/enrolments",              401, 200, 200, 403, 403, 404, 404),
    # The bank: rights per bank and course role (tests/assessments/test_bank_ownership.py has the
    # whole table). The samples live in the open library: every instructor reads and uses them,
    # only administrators edit them; a new item goes into the caller's one course's bank.
    row("GET", "/api/v1/banks",                                    401, 200, 200, 403, 403, 200, 403),
    row("POST", "/api/v1/banks",                                   401, 201, 201, 403, 403, 404, 403,
        request=lambda s: {"json": {"slug": "llms-pool", "title": "Pool", "course": "llms"}}),
    row("GET", "/api/v1/banks/{bank}",                             401, 200, 200, 403, 403, 404, 403),
    row("PUT", "/api/v1/banks/{bank}/grants/{course}",             401, 200, 200, 403, 403, 404, 403,
        example="/api/v1/banks/course:llms/grants/rl", request=lambda s: {"json": {"can_edit": False}}),
    # The course's shared bank is granted to ``rl``: its instructor reads it, but may not manage it.
    row("DELETE", "/api/v1/banks/{bank}/grants/{course}",          401, 200, 200, 403, 403, 403, 403,
        example="/api/v1/banks/llms-shared/grants/rl", codes={"outsider_instructor": "bank_not_managed"}),
    # Declarations: anyone who reads the bank sees them (the shared library by default); those who
    # may edit the bank declare in it (the course's own bank: the outsider cannot see it).
    row("GET", "/api/v1/declarations",                             401, 200, 200, 403, 403, 200, 403),
    row("POST", "/api/v1/declarations",                            401, 201, 201, 403, 403, 404, 403,
        request=lambda s: {"json": {"bank": "course:llms", "concepts": {"matrix-concept": "A concept"}}}),
    row("GET", "/api/v1/items",                                    401, 200, 200, 403, 403, 200, 403),
    row("POST", "/api/v1/items",                                   401, 201, 201, 403, 403, 201, 403,
        request=lambda s: {"json": NEW_ITEM}),
    row("GET", "/api/v1/items/export",                             401, 200, 200, 403, 403, 200, 403),
    row("POST", "/api/v1/items/import",                            401, 200, 200, 403, 403, 200, 403,
        request=lambda s: {"content": yaml.safe_dump(NEW_ITEM)}),
    row("POST", "/api/v1/items/check",                             401, 200, 200, 403, 403, 200, 403,
        request=lambda s: {"json": NEW_ITEM}),
    row("POST", "/api/v1/items/preview",                           401, 200, 200, 403, 403, 200, 403,
        request=lambda s: {"json": NEW_ITEM}),
    row("GET", "/api/v1/items/{key}",                              401, 200, 200, 403, 403, 200, 403),
    row("PUT", "/api/v1/items/{key}",                              401, 200, 403, 403, 403, 403, 403,
        request=lambda s: {"json": _definition("short", title="Name the model")}, codes=READ_ONLY_BANK),
    row("POST", "/api/v1/items/{key}/move",                        401, 200, 403, 403, 403, 403, 403,
        request=lambda s: {"json": {"bank": "course:llms"}}, codes=READ_ONLY_BANK),
    row("GET", "/api/v1/items/{key}/preview",                      401, 200, 200, 403, 403, 200, 403,
        request=lambda s: {"params": {"seed": 7}}),
    row("POST", "/api/v1/courses/{course}/quizzes",                401, 201, 201, 403, 403, 404, 404,
        request=lambda s: {"json": {"title": "Another", "sections": [{"items": ["tf"]}]}}),
    row("GET", "/api/v1/quizzes",                                  401, 200, 200, 200, 200, 200, 200),
    row("GET", "/api/v1/quizzes/{quiz_id}",                        401, 200, 200, 200, 200, 404, 404),
    row("GET", "/api/v1/quizzes/{quiz_id}/pins",                   401, 200, 200, 403, 403, 404, 404),
    row("POST", "/api/v1/quizzes/{quiz_id}/pins",                  401, 200, 200, 403, 403, 404, 404,
        request=lambda s: {"json": {}}),
    # The student resumes (200); anyone else in the course starts their own (201).
    row("POST", "/api/v1/quizzes/{quiz_id}/attempts",              401, 201, 201, 200, 201, 404, 404),
    # A quiz's life: its course's instructors (students of the course 403, everyone else 404).
    # The quiz has a student's attempt: a change of dates is allowed, deleting archives it.
    row("PATCH", "/api/v1/quizzes/{quiz_id}",                      401, 200, 200, 403, 403, 404, 404,
        request=lambda s: {"json": {"settings": {"time_limit_minutes": 30}}}),
    row("PUT", "/api/v1/quizzes/{quiz_id}/status",                 401, 200, 200, 403, 403, 404, 404,
        request=lambda s: {"json": {"status": "closed"}}),
    row("POST", "/api/v1/quizzes/{quiz_id}/duplicate",             401, 201, 201, 403, 403, 404, 404,
        request=lambda s: {"json": {}}),
    row("DELETE", "/api/v1/quizzes/{quiz_id}",                     401, 200, 200, 403, 403, 404, 404),
    row("GET", "/api/v1/quizzes/{quiz_id}/overrides",              401, 200, 200, 403, 403, 404, 404),
    row("POST", "/api/v1/quizzes/{quiz_id}/overrides",             401, 201, 201, 403, 403, 404, 404,
        request=lambda s: {"json": {"user": "classmate", "time_multiplier": 1.5}}),
    row("PUT", "/api/v1/quizzes/{quiz_id}/overrides/{override_id}", 401, 200, 200, 403, 403, 404, 404,
        request=lambda s: {"json": {"group": "extra-time", "time_limit_minutes": 90}}),
    row("DELETE", "/api/v1/quizzes/{quiz_id}/overrides/{override_id}", 401, 204, 204, 403, 403, 404, 404),
    row("GET", "/api/v1/courses/{course}/groups",                  401, 200, 200, 403, 403, 404, 404),
    row("POST", "/api/v1/courses/{course}/groups",                 401, 201, 201, 403, 403, 404, 404,
        request=lambda s: {"json": {"name": "second-sitting", "members": ["classmate"]}}),
    row("PUT", "/api/v1/courses/{course}/groups/{group_id}",       401, 200, 200, 403, 403, 404, 404,
        request=lambda s: {"json": {"name": "extra-time", "members": ["student", "classmate"]}}),
    row("DELETE", "/api/v1/courses/{course}/groups/{group_id}",    401, 204, 204, 403, 403, 404, 404),
    # Owners and the course's instructors read; only the owner writes; anyone else: not found.
    row("GET", "/api/v1/attempts/{attempt_id}",                    401, 200, 200, 200, 404, 404, 404),
    row("PUT", "/api/v1/attempts/{attempt_id}/responses/{slot}",   401, 403, 403, 200, 404, 404, 404,
        request=lambda s: {"json": ANSWER}),
    row("POST", "/api/v1/attempts/{attempt_id}/slots/{slot}/check", 401, 403, 403, 200, 404, 404, 404,
        request=lambda s: {"json": ANSWER}),
    row("POST", "/api/v1/attempts/{attempt_id}/slots/{slot}/try-again", 401, 403, 403, 200, 404, 404, 404,
        slot=2, request=lambda s: {"json": {"seq": s.try_again_seq}}),
    row("PUT", "/api/v1/attempts/{attempt_id}/slots/{slot}/flag",  401, 403, 403, 200, 404, 404, 404,
        request=lambda s: {"json": {"flagged": True}}),
    row("POST", "/api/v1/attempts/{attempt_id}/submit",            401, 403, 403, 200, 404, 404, 404),
    # Grading: the course's instructors; its students are refused (a classmate's attempt is "not
    # found", as it is to read), everyone else told "not found"; tokens need the grade scope.
    row("POST", "/api/v1/attempts/{attempt_id}/slots/{slot}/grade", 401, 200, 200, 403, 404, 404, 404,
        submitted=True, grade_scope=True,
        request=lambda s: {"json": {"fraction": 0.5, "comment": "Name a safeguard."}}),
    # Clearing a mark set by hand: the same people; the matrix's question has none (409).
    row("DELETE", "/api/v1/attempts/{attempt_id}/slots/{slot}/grade", 401, 409, 409, 403, 404, 404, 404,
        submitted=True, grade_scope=True, codes={"admin": "nothing_to_clear", "instructor": "nothing_to_clear"}),
    # Grading by question: a slot's responses (the quiz's interactive question 1: none finished yet).
    row("GET", "/api/v1/quizzes/{quiz_id}/slots/{slot}/responses", 401, 200, 200, 403, 403, 404, 404,
        grade_scope=True),
    row("POST", "/api/v1/quizzes/{quiz_id}/regrade",               401, 200, 200, 403, 403, 404, 404,
        grade_scope=True),
    row("GET", "/api/v1/quizzes/{quiz_id}/grades",                 401, 200, 200, 403, 403, 404, 404,
        grade_scope=True),
    row("GET", "/api/v1/courses/{course}/gradebook",               401, 200, 200, 403, 403, 404, 404,
        grade_scope=True),
    # The grade audit trail: the course's instructors only (the owner of an attempt is refused it).
    row("GET", "/api/v1/quizzes/{quiz_id}/grade-changes",          401, 200, 200, 403, 403, 404, 404,
        grade_scope=True),
    row("GET", "/api/v1/attempts/{attempt_id}/grade-changes",      401, 200, 200, 403, 404, 404, 404,
        submitted=True, grade_scope=True),
    # Reports: the results and responses of a quiz, their export, and closing an attempt now are
    # the course's instructors' (tokens need the grade scope); every caller lists their own attempts.
    row("GET", "/api/v1/quizzes/{quiz_id}/attempts",               401, 200, 200, 403, 403, 404, 404,
        grade_scope=True),
    row("GET", "/api/v1/quizzes/{quiz_id}/responses",              401, 200, 200, 403, 403, 404, 404,
        grade_scope=True),
    row("GET", "/api/v1/quizzes/{quiz_id}/attempts/export",        401, 200, 200, 403, 403, 404, 404,
        grade_scope=True),
    row("POST", "/api/v1/attempts/{attempt_id}/close",             401, 200, 200, 403, 404, 404, 404,
        grade_scope=True, request=lambda s: {"json": {"reason": "the matrix closes it"}}),
    row("GET", "/api/v1/me/attempts",                              401, 200, 200, 200, 200, 200, 200),
    # Statistics: a quiz's for its course's instructors; an item's for any instructor (the bank's).
    row("GET", "/api/v1/quizzes/{quiz_id}/statistics",             401, 200, 200, 403, 403, 404, 404),
    row("GET", "/api/v1/items/{key}/statistics",                   401, 200, 200, 403, 403, 200, 403),
    # Jobs: any instructor may ask how one is going (there is no job 0: not found).
    # Practice: members practise (an admin acts as an instructor everywhere); a question is its
    # student's alone; the class view is the instructors'.
    row("POST", "/api/v1/courses/{course}/practices",             401, 201, 201, 403, 403, 404, 404,
        request=lambda s: {"json": {"title": "Another", "concepts": ["bradley-terry-model"]}}),
    row("GET", "/api/v1/courses/{course}/practices",              401, 200, 200, 200, 200, 404, 404),
    row("GET", "/api/v1/practices/{practice_id}",                 401, 200, 200, 200, 200, 404, 404),
    row("POST", "/api/v1/practices/{practice_id}/next",           401, 200, 200, 200, 200, 404, 404),
    row("POST", "/api/v1/practices/{practice_id}/questions/{question_id}/answer",
                                                                  401, 404, 404, 200, 404, 404, 404,
        request=lambda s: {"json": {"response": {"answer": "0.5"}}}),
    row("POST", "/api/v1/practices/{practice_id}/questions/{question_id}/variant",
                                                                  401, 404, 404, 200, 404, 404, 404),
    row("GET", "/api/v1/practices/{practice_id}/mastery",         401, 200, 200, 200, 200, 404, 404),
    row("GET", "/api/v1/practices/{practice_id}/class",           401, 200, 200, 403, 403, 404, 404),
    row("GET", "/api/v1/jobs/{job_id}",                            401, 404, 404, 403, 403, 404, 403),
    # LTI: registrations are the administrators'; the platform-facing routes need no credentials
    # (an empty login or launch is refused as such), the deep linking picker needs a pending request.
    row("POST", "/api/v1/lti/registrations",                       401, 201, 403, 403, 403, 403, 403,
        admin_scope=True, request=lambda s: {"json": LTI_PLATFORM}),
    row("GET", "/api/v1/lti/registrations",                        401, 200, 403, 403, 403, 403, 403,
        admin_scope=True),
    row("PATCH", "/api/v1/lti/registrations/{platform_id}",        401, 404, 403, 403, 403, 403, 403,
        admin_scope=True, example="/api/v1/lti/registrations/999", request=lambda s: {"json": {"frame_origins": []}}),
    row("POST", "/api/v1/lti/registration-links",                  401, 201, 403, 403, 403, 403, 403,
        admin_scope=True),
    row("GET", "/lti/jwks", 200, public=True),
    row("GET", "/healthz", 200, public=True),
    row("GET", "/openapi.json", 200, public=True),
    row("GET", "/docs", 200, public=True),
    row("GET", "/docs/oauth2-redirect", 200, public=True),
    row("GET", "/redoc", 200, public=True),
    # --- web pages: session cookies; 303 is where a page sends the browser on (or back) ---------
    web("GET", "/login", 200, public=True),
    web("POST", "/login", 303, public=True, request=form(username="student", password=PASSWORD)),
    web("POST", "/logout", 303, public=True, request=form()),
    #   method, path,                                             anon admin instr stud  clsm  out-i out-s
    web("GET", "/",                                               L,   200,  200,  200,  200,  200,  200),
    web("GET", "/quizzes/{quiz_id}",                              L,   200,  200,  200,  200,  404,  404),
    web("POST", "/quizzes/{quiz_id}/start",                       L,   303,  303,  303,  303,  404,  404,
        request=form()),
    web("GET", "/attempts/{attempt_id}",                          L,   200,  200,  200,  404,  404,  404),
    web("POST", "/attempts/{attempt_id}/save",                    L,   403,  403,  303,  404,  404,  404,
        request=form(**WEB_ANSWER)),
    web("POST", "/attempts/{attempt_id}/autosave/{slot}",         L,   403,  403,  200,  404,  404,  404,
        request=form(**WEB_ANSWER)),
    web("POST", "/attempts/{attempt_id}/check/{slot}",            L,   403,  403,  200,  404,  404,  404,
        request=form(**WEB_ANSWER)),
    web("POST", "/attempts/{attempt_id}/try-again/{slot}",        L,   403,  403,  200,  404,  404,  404,
        slot=2, request=lambda s: {"data": {CSRF_FIELD: CSRF, "s2-seq": str(s.try_again_seq)}}),
    web("POST", "/attempts/{attempt_id}/flag/{slot}",             L,   403,  403,  200,  404,  404,  404,
        request=form(flagged="1")),
    web("GET", "/attempts/{attempt_id}/finish",                   L,   200,  200,  200,  404,  404,  404),
    web("POST", "/attempts/{attempt_id}/submit",                  L,   403,  403,  303,  404,  404,  404,
        request=form()),
    # In progress, the review page sends its readers back to the attempt.
    web("GET", "/attempts/{attempt_id}/review",                   L,   303,  303,  303,  404,  404,  404),
    web("GET", "/bank",                                           L,   200,  200,  403,  403,  200,  403),
    web("GET", "/bank/{key}",                                     L,   200,  200,  403,  403,  200,  403),
    # Authoring: the library's samples are read-only to instructors (the bank's ownership).
    web("GET", "/bank/new",                                       L,   200,  200,  403,  403,  200,  403),
    web("POST", "/bank/new",                                      L,   200,  200,  403,  403,  200,  403,
        request=form(text=yaml.safe_dump(NEW_ITEM), action="check")),
    web("POST", "/bank/check",                                    L,   200,  200,  403,  403,  200,  403,
        request=form(text=yaml.safe_dump(NEW_ITEM))),
    web("GET", "/bank/{key}/edit",                                L,   200,  403,  403,  403,  403,  403),
    web("POST", "/bank/{key}/edit",                               L,   200,  403,  403,  403,  403,  403,
        request=form(text=yaml.safe_dump(_definition("short")), action="check")),
    web("GET", "/bank/{key}/versions",                            L,   200,  200,  403,  403,  200,  403),
    # The quiz gives "numeric" and has attempts: on to the regrade's dry run.
    web("POST", "/bank/{key}/versions/{number}/use",              L,   303,  303,  403,  403,  404,  403,
        example="/bank/numeric/versions/1/use", request=lambda s: {"data": {CSRF_FIELD: CSRF,
                                                                            "quiz_id": str(s.quiz_id)}}),
    web("GET", "/bank/import",                                    L,   200,  200,  403,  403,  200,  403),
    web("POST", "/bank/import",                                   L,   303,  303,  403,  403,  303,  403,
        request=lambda s: {"data": {CSRF_FIELD: CSRF, "format": "yaml"},
                           "files": {"file": ("items.yaml", yaml.safe_dump(NEW_ITEM).encode(), "application/yaml")}}),
    # No such draft (each is its uploader's, for an hour).
    web("GET", "/bank/import/{token}",                            L,   404,  404,  403,  403,  404,  403,
        example="/bank/import/no-such-draft"),
    web("POST", "/bank/import/{token}",                           L,   404,  404,  403,  403,  404,  403,
        example="/bank/import/no-such-draft", request=form()),
    web("GET", "/courses/{course}/quizzes/new",                   L,   200,  200,  403,  403,  404,  404),
    web("GET", "/courses/{course}/quizzes/picker",                L,   200,  200,  403,  403,  404,  404),
    web("POST", "/courses/{course}/quizzes/new",                  L,   303,  303,  403,  403,  404,  404,
        request=form(title="Built", sections="1", **{"section-0-items": "tf"})),
    web("GET", "/quizzes/{quiz_id}/manage",                       L,   200,  200,  403,  403,  404,  404),
    # A quiz's life: its course's instructors (students 403, everyone else 404).
    web("GET", "/quizzes/{quiz_id}/edit",                         L,   200,  200,  403,  403,  404,  404),
    # The same sections and behaviour (the quiz has a student's attempt), a new title and time.
    web("POST", "/quizzes/{quiz_id}/edit",                        L,   303,  303,  403,  403,  404,  404,
        request=form(title="Renamed", behaviour="interactive", time_limit_minutes="45",
                     **{"section-0-items": "numeric\nbradley-terry-preference-probability",
                        "review-during-correctness": "on"})),
    web("GET", "/quizzes/{quiz_id}/questions",                    L,   200,  200,  403,  403,  404,  404),
    web("POST", "/quizzes/{quiz_id}/status",                      L,   303,  303,  403,  403,  404,  404,
        request=form(status="closed")),
    web("POST", "/quizzes/{quiz_id}/duplicate",                   L,   303,  303,  403,  403,  404,  404,
        request=form()),
    web("GET", "/quizzes/{quiz_id}/delete",                       L,   200,  200,  403,  403,  404,  404),
    web("POST", "/quizzes/{quiz_id}/delete",                      L,   303,  303,  403,  403,  404,  404,
        request=form()),
    web("GET", "/quizzes/{quiz_id}/overrides",                    L,   200,  200,  403,  403,  404,  404),
    web("POST", "/quizzes/{quiz_id}/overrides",                   L,   303,  303,  403,  403,  404,  404,
        request=form(who="user:classmate", time_multiplier="1.5")),
    web("POST", "/quizzes/{quiz_id}/overrides/{override_id}/delete", L, 303,  303,  403,  403,  404,  404,
        request=form()),
    web("POST", "/quizzes/{quiz_id}/groups",                      L,   303,  303,  403,  403,  404,  404,
        request=lambda s: {"data": {CSRF_FIELD: CSRF, "group_name": "second-sitting", "members": ["classmate"]}}),
    web("GET", "/attempts/{attempt_id}/grade",                    L,   200,  200,  403,  404,  404,  404,
        submitted=True),
    web("POST", "/attempts/{attempt_id}/slots/{slot}/grade",      L,   303,  303,  403,  404,  404,  404,
        submitted=True, request=form(mark="0.5", comment="Name a safeguard.")),
    web("GET", "/quizzes/{quiz_id}/grading",                      L,   200,  200,  403,  403,  404,  404),
    web("GET", "/quizzes/{quiz_id}/slots/{slot}/grading",         L,   200,  200,  403,  403,  404,  404),
    # The attempt in progress is in no queue (only finished attempts are): not found, to staff too.
    web("POST", "/quizzes/{quiz_id}/slots/{slot}/grading/{attempt_id}", L, 404, 404, 403, 403, 404, 404,
        request=form(mark="1")),
    web("GET", "/quizzes/{quiz_id}/regrade",                      L,   200,  200,  403,  403,  404,  404),
    web("POST", "/quizzes/{quiz_id}/regrade",                     L,   200,  200,  403,  403,  404,  404,
        request=form()),
    # "Clear the override" on a regrade's row: back to the regrade page (with what happened).
    web("POST", "/attempts/{attempt_id}/slots/{slot}/clear-grade", L,  303,  303,  403,  404,  404,  404,
        submitted=True, request=form()),
    web("GET", "/quizzes/{quiz_id}/statistics",                   L,   200,  200,  403,  403,  404,  404),
    web("GET", "/quizzes/{quiz_id}/results",                      L,   200,  200,  403,  403,  404,  404),
    web("GET", "/quizzes/{quiz_id}/responses",                    L,   200,  200,  403,  403,  404,  404),
    web("POST", "/attempts/{attempt_id}/close",                   L,   303,  303,  403,  404,  404,  404,
        request=form(reason="the matrix closes it")),
    web("GET", "/courses/{course}/gradebook",                     L,   200,  200,  403,  403,  404,  404),
    web("GET", "/practices/{practice_id}",                        L,   200,  200,  200,  200,  404,  404),
    web("POST", "/practices/{practice_id}/questions/{question_id}/answer",
                                                                  L,   404,  404,  200,  404,  404,  404,
        request=form(**{"s1-present": "1", "s1-answer": "0.5"})),
    web("POST", "/practices/{practice_id}/questions/{question_id}/variant",
                                                                  L,   404,  404,  303,  404,  404,  404,
        request=form()),
    web("GET", "/practices/{practice_id}/mastery",                L,   200,  200,  200,  200,  404,  404),
    web("GET", "/practices/{practice_id}/class",                  L,   200,  200,  403,  403,  404,  404),
    web("GET", "/quizzes/{quiz_id}/grade-history",                L,   200,  200,  403,  403,  404,  404),
    web("GET", "/attempts/{attempt_id}/grade-history",            L,   200,  200,  403,  404,  404,  404,
        submitted=True),
    web("GET", "/static", 200, public=True, example="/static/assay.css"),
    web("GET", "/lti/login", 400, public=True),
    web("POST", "/lti/login", 400, public=True, request=form()),
    web("POST", "/lti/launch", 400, public=True, request=form()),
    # Only Assay's own page in the platform's frame may post these (no Origin here: refused).
    web("POST", "/lti/launch/verify", 403, public=True, request=form()),
    web("GET", "/lti/assets/{name}", 200, public=True, example="/lti/assets/launch-session.js"),
    web("GET", "/lti/register/{token}", 404, public=True, example="/lti/register/not-a-link"),
    web("POST", "/lti/register/{token}", 403, public=True, example="/lti/register/not-a-link", request=form()),
    web("GET", "/lti/registrations",                              L,   200,  403,  403,  403,  403,  403),
    web("POST", "/lti/registrations/links",                       L,   200,  403,  403,  403,  403,  403,
        request=form()),
    web("GET", "/lti/deep-link",                                  L,   404,  404,  404,  404,  404,  404),
    web("POST", "/lti/deep-link",                                 L,   404,  404,  404,  404,  404,  404,
        request=form(quiz_id="1")),
]


def served_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app answers; HEAD comes free with GET, and a mount serves GET."""
    served = set()
    for route in iter_route_contexts(app.routes):
        methods = route.methods or {"GET"}
        served |= {(method, route.path) for method in methods if method != "HEAD"}
    return served


def test_every_route_has_a_row(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, secret_key="s" * 40), Database("sqlite://"))
    rows = {(r.method, r.path) for r in MATRIX}
    served = served_routes(app)
    assert served - rows == set(), "routes with no row in the authorization matrix: add one"
    assert rows - served == set(), "rows for routes the app no longer serves: remove them"
    assert len(rows) == len(MATRIX), "one row per route"


@contextmanager
def undone(db: Session) -> Iterator[None]:
    """Whatever is done inside is rolled back afterwards (a savepoint around it)."""
    db.commit()  # what came before stays, in the enclosing transaction
    connection = db.get_bind()
    assert isinstance(connection, Connection)
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        if db.in_transaction():
            db.rollback()
        savepoint.rollback()
        db.expunge_all()


@dataclass
class Stage:
    """The scene, built once per database for this module, in a transaction rolled back at the end."""

    db: Session
    client: TestClient
    scene: Scene
    settings: Settings
    clock: Clock

    def request(self, method: str, url: str, headers: dict[str, str], **extra: Any) -> Any:
        """One request, undone afterwards; the client keeps no cookie from it."""
        try:
            with undone(self.db):
                return self.client.request(method, url, headers=headers, follow_redirects=False, **extra)
        finally:
            self.client.cookies.clear()

    def call(self, caller: str, method: str, url: str, **extra: Any) -> Any:
        """One API request by ``caller``, undone afterwards."""
        return self.request(method, url, self.scene.headers[caller], **extra)


@pytest.fixture(scope="module")
def stage(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("matrix"), secret_key="matrix-" + "k" * 40)
    clock = Clock()
    connection = database.engine.connect()
    transaction = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    app = serve_from(create_app(settings, database), db, clock)
    try:
        with TestClient(app) as client:
            scene = build_scene(World(db, client), settings, clock)
            db.commit()
            db.expunge_all()
            yield Stage(db, client, scene, settings, clock)
    finally:
        db.close()
        transaction.rollback()
        connection.close()


def outcome(reply: Any, *, web: bool) -> tuple[Outcome, str | None]:
    if web:
        sent_to_sign_in = reply.status_code == 303 and reply.headers["location"].startswith("/login?next=")
        return (LOGIN if sent_to_sign_in else reply.status_code), None
    return reply.status_code, reply.json()["error"]["code"] if reply.status_code >= 400 else None


@pytest.mark.parametrize("route", MATRIX, ids=lambda r: r.id)
def test_who_may_call(route: Row, stage: Stage) -> None:
    scene = stage.scene
    outcomes, expected = {}, {}
    for caller in route.callers:
        extra = route.request(scene) if route.request else {}
        reply = stage.request(route.method, route.url(scene), route.headers(scene, caller), **extra)
        outcomes[caller] = outcome(reply, web=route.web)
        expected[caller] = route.expected(caller)
    assert outcomes == expected


# --- the same rules, told as stories --------------------------------------------------------------


def test_a_student_cannot_read_or_write_a_classmates_attempt(stage: Stage) -> None:
    """Another student's attempt answers exactly as an attempt that does not exist: 404."""
    theirs = stage.scene.attempt_id
    nobodys = theirs + 1000
    for attempt in (theirs, nobodys):
        replies = [
            stage.call("classmate", "GET", f"/api/v1/attempts/{attempt}"),
            stage.call("classmate", "PUT", f"/api/v1/attempts/{attempt}/responses/1", json=ANSWER),
            stage.call("classmate", "POST", f"/api/v1/attempts/{attempt}/slots/1/check", json=ANSWER),
            stage.call("classmate", "POST", f"/api/v1/attempts/{attempt}/slots/2/try-again", json={"seq": 1}),
            stage.call("classmate", "POST", f"/api/v1/attempts/{attempt}/submit"),
        ]
        for reply in replies:
            assert reply.status_code == 404
            assert reply.json() == {"error": {"code": "not_found", "message": f"no attempt {attempt}"}}


def test_refused_writes_change_nothing(stage: Stage) -> None:
    """Not undone one by one: every refused write of the matrix, then the attempt is as it was."""
    url = f"/api/v1/attempts/{stage.scene.attempt_id}"
    before = stage.call("student", "GET", url).json()
    with undone(stage.db):
        for caller in ("classmate", "instructor", "admin", "outsider_student", "student_read_token",
                       "revoked_personal_token", "tampered_access_token"):
            stage.client.put(f"{url}/responses/1", headers=stage.scene.headers[caller], json=ANSWER)
            stage.client.post(f"{url}/slots/1/check", headers=stage.scene.headers[caller], json=ANSWER)
            stage.client.post(f"{url}/submit", headers=stage.scene.headers[caller])
        assert stage.client.get(url, headers=stage.scene.headers["student"]).json() == before
    assert before["state"] == "in_progress" and before["questions"][0]["seq"] == 0


def test_a_student_is_refused_the_instructors_endpoints(stage: Stage) -> None:
    course = stage.scene.course
    refused = [
        stage.call("student", "GET", "/api/v1/items"),
        stage.call("student", "GET", "/api/v1/items/numeric"),
        stage.call("student", "GET", "/api/v1/items/numeric/preview", params={"seed": 1}),
        stage.call("student", "POST", "/api/v1/items", json=NEW_ITEM),
        stage.call("student", "POST", f"/api/v1/courses/{course}/quizzes",
                   json={"title": "Mine", "sections": [{"items": ["tf"]}]}),
        stage.call("student", "POST", f"/api/v1/courses/{course}/enrolments",
                   json={"username": "classmate", "role": "instructor"}),
        stage.call("student", "GET", f"/api/v1/courses/{course}/enrolments"),
    ]
    for reply in refused:
        assert reply.status_code == 403, reply.request.url
        assert reply.json()["error"]["code"] == "forbidden"
        assert "key_response" not in reply.text and "definition" not in reply.text


def test_outsiders_do_not_learn_that_a_course_exists(stage: Stage) -> None:
    """To someone outside the course, its quiz and attempts look like ones that do not exist."""
    scene = stage.scene
    for outsider in ("outsider_student", "outsider_instructor"):
        missing = stage.call(outsider, "GET", "/api/v1/quizzes/999999").json()["error"]
        hidden = stage.call(outsider, "GET", f"/api/v1/quizzes/{scene.quiz_id}").json()["error"]
        assert hidden == missing | {"message": f"no quiz {scene.quiz_id}"}
        assert stage.call(outsider, "POST", f"/api/v1/quizzes/{scene.quiz_id}/attempts").status_code == 404
        assert stage.call(outsider, "GET", f"/api/v1/attempts/{scene.attempt_id}").status_code == 404
        assert stage.call(outsider, "GET", f"/api/v1/courses/{scene.course}").status_code == 404
        assert stage.call(outsider, "GET", "/api/v1/quizzes").json() == []
        assert stage.call(outsider, "GET", "/api/v1/quizzes", params={"course": scene.course}).json() == []
        courses = stage.call(outsider, "GET", "/api/v1/courses").json()
        assert scene.course not in [c["slug"] for c in courses]


def test_a_read_only_token_is_told_which_scope_it_lacks(stage: Stage) -> None:
    url = f"/api/v1/attempts/{stage.scene.attempt_id}"
    assert stage.call("student_read_token", "GET", url).status_code == 200
    refused = stage.call("student_read_token", "PUT", f"{url}/responses/1", json=ANSWER)
    assert refused.status_code == 403
    assert refused.json()["error"] == {"code": "insufficient_scope",
                                       "message": "this token lacks the 'write' scope"}


def test_bad_credentials_get_401_with_a_bearer_challenge(stage: Stage) -> None:
    for caller in ("anonymous", *BAD_CREDENTIALS):
        reply = stage.call(caller, "GET", "/api/v1/auth/me")
        assert reply.status_code == 401, caller
        assert reply.headers["www-authenticate"] == "Bearer"
        assert reply.json()["error"]["code"] == "unauthorized"


def test_an_access_token_expires_on_the_services_clock(stage: Stage) -> None:
    scene = stage.scene
    me = scene.headers["student"]  # issued at T0, for an hour
    with undone(stage.db):
        try:
            assert stage.client.get("/api/v1/auth/me", headers=me).status_code == 200
            stage.clock.advance(minutes=59, seconds=59)
            assert stage.client.get("/api/v1/auth/me", headers=me).status_code == 200
            stage.clock.advance(seconds=1)
            assert stage.client.get("/api/v1/auth/me", headers=me).status_code == 401
        finally:
            stage.clock.now = T0


def test_tampered_and_forged_tokens_are_refused(stage: Stage) -> None:
    scene = stage.scene
    good = scene.headers["student"]["authorization"].removeprefix("Bearer ")
    exp = int((stage.clock.now + timedelta(hours=1)).timestamp())
    admin_id = stage.call("admin", "GET", "/api/v1/auth/me").json()["id"]
    claims = {"sub": str(admin_id), "exp": exp, "typ": "access"}
    forged = [
        tampered(good, sub=str(admin_id)),                                   # someone else
        tampered(good, exp=exp + 10**6),                                     # a longer life
        good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),       # another signature
        jwt.encode(claims, "another-secret-" + "y" * 40, algorithm=ALGORITHM),  # another key
        jwt.encode(claims, None, algorithm="none"),                          # unsigned
        jwt.encode({"sub": str(admin_id), "exp": exp}, stage.settings.resolved_secret_key,
                   algorithm=ALGORITHM),                                     # not an access token
        "not-a-jwt",
    ]
    for token in forged:
        reply = stage.client.get("/api/v1/users", headers=bearer(token))
        assert reply.status_code == 401, token
    assert stage.client.get("/api/v1/auth/me", headers=bearer(good)).json()["username"] == "student"


def test_a_deactivated_user_is_signed_out_everywhere(stage: Stage) -> None:
    callers = ("student", "student_read_token")
    assert [stage.call(c, "GET", "/api/v1/auth/me").status_code for c in callers] == [200, 200]
    with undone(stage.db):
        stage.db.execute(update(User).where(User.username == "student").values(is_active=False))
        assert [stage.call(c, "GET", "/api/v1/auth/me").status_code for c in callers] == [401, 401]



def test_web_pages_open_only_with_a_session_cookie(stage: Stage) -> None:
    """A bearer token is for the API: on a page the browser is sent to sign in."""
    reply = stage.request("GET", "/", stage.scene.headers["student"])
    assert (reply.status_code, reply.headers["location"]) == (303, "/login?next=/")


def test_a_cookie_session_needs_the_csrf_token_to_change_anything(stage: Stage) -> None:
    attempt = stage.scene.attempt_id
    cookie = stage.scene.cookies["student"]
    page_form = f"/attempts/{attempt}/save"
    for token in (None, "forged"):
        fields = WEB_ANSWER | ({CSRF_FIELD: token} if token else {})
        assert stage.request("POST", page_form, cookie, data=fields).status_code == 403
    assert stage.request("POST", page_form, cookie, data=WEB_ANSWER | {CSRF_FIELD: CSRF}).status_code == 303

    # The same session through the API: reads freely, writes with the token in a header.
    api = f"/api/v1/attempts/{attempt}"
    assert stage.request("GET", api, cookie).status_code == 200
    refused = stage.request("PUT", f"{api}/responses/1", cookie, json=ANSWER)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "csrf")
    forged = stage.request("PUT", f"{api}/responses/1", cookie | {CSRF_HEADER: "forged"}, json=ANSWER)
    assert forged.status_code == 403
    assert stage.request("PUT", f"{api}/responses/1", cookie | {CSRF_HEADER: CSRF}, json=ANSWER).status_code == 200


def test_grading_a_classmates_attempt_looks_like_grading_a_missing_one(stage: Stage) -> None:
    grade = {"json": {"fraction": 1.0}}
    theirs = stage.scene.submitted_attempt_id
    hidden = stage.call("classmate", "POST", f"/api/v1/attempts/{theirs}/slots/1/grade", **grade)
    missing = stage.call("classmate", "POST", f"/api/v1/attempts/{theirs + 1000}/slots/1/grade", **grade)
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (missing.status_code, "not_found")


def test_grading_needs_a_token_with_the_grade_scope(stage: Stage) -> None:
    scene = stage.scene
    with undone(stage.db):
        teacher = stage.client.get("/api/v1/auth/me", headers=scene.headers["instructor"]).json()
        user = stage.db.get(User, teacher["id"])
        assert user is not None
        _, secret = personal_token(stage.db, user, stage.clock, Scope.READ, Scope.WRITE)
        stage.db.commit()
        without_grade = bearer(secret)
        replies = [
            stage.client.post(f"/api/v1/attempts/{scene.submitted_attempt_id}/slots/1/grade",
                              headers=without_grade, json={"fraction": 1.0}),
            stage.client.post(f"/api/v1/quizzes/{scene.quiz_id}/regrade", headers=without_grade),
            stage.client.get(f"/api/v1/quizzes/{scene.quiz_id}/grades", headers=without_grade),
            stage.client.get(f"/api/v1/courses/{scene.course}/gradebook", headers=without_grade),
            stage.client.get(f"/api/v1/quizzes/{scene.quiz_id}/slots/1/responses", headers=without_grade),
        ]
    assert [outcome(r, web=False) for r in replies] == [(403, "insufficient_scope")] * 5
