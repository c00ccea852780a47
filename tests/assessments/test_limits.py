"""The limits (``assessments/limits.py``, ``assessments/pagination.py``): body sizes, sign-in and
token rate limits, page sizes, and the timeouts, each with its exact status, headers and body, and
the promise that a refused request changes nothing.

Rate-limit time is the service clock (``clock.advance``), never a sleep. Password checks here use
argon2 with its cheapest parameters (the tests sign in hundreds of times); the limits do not care
how slow a password check is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import anyio
import httpx2
import pytest
import yaml
from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from assessments import cli
from assessments.app import create_app
from assessments.auth import passwords
from assessments.auth import service as auth_service
from assessments.config import Settings, get_settings
from assessments.db import Database
from assessments.deps import SessionDep
from assessments.errors import Unauthorized
from assessments.limits import Backoff, BodySizeLimit, BodyTooLarge, Limits, Rate, RateLimiter, TooManyRequests
from assessments.lti import http
from assessments.models import ApiToken, Course, CourseRole, ItemVersion, Role, User
from assessments.pagination import MAX_LIMIT, MAX_OFFSET
from tests.assessments.conftest import PASSWORD, T0, Clock, World
from tests.assessments.test_bank import NEW_ITEM
from tests.assessments.test_walkthroughs import token_for

SIGN_IN = "/api/v1/auth/token"
MIB = 1 << 20
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(passwords, "_HASHER", CHEAP)
    yield
    auth_service._decoy_hash.cache_clear()


def person(world: World, username: str, role: Role = Role.STUDENT) -> User:
    user = User(username=username, display_name=username.title(), role=role, password_hash=CHEAP.hash(PASSWORD))
    world.db.add(user)
    world.db.flush()
    if username == "author":  # an author teaches a course: their new items go into its bank
        world.course("authoring", (user, CourseRole.INSTRUCTOR))
    return user


def api_of(world: World) -> TestClient:
    assert world.client is not None
    world.db.commit()  # what the test made stays, whatever a refused request rolls back
    return world.client


def another_address(world: World, host: str = "10.0.0.2") -> TestClient:
    assert world.client is not None
    return TestClient(world.client.app, client=(host, 40000))


def sign_in(api: TestClient, username: str, password: str = PASSWORD) -> Any:
    return api.post(SIGN_IN, json={"username": username, "password": password})


def versions(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(ItemVersion)) or 0)


# --- request bodies -----------------------------------------------------------------------------


def test_the_default_limits_are_one_mebibyte_and_twenty_for_imports() -> None:
    fields = Settings.model_fields
    assert fields["max_body_bytes"].default == MIB
    assert fields["max_import_bytes"].default == 20 * MIB


def test_a_declared_body_past_the_limit_is_refused_and_changes_nothing(world: World) -> None:
    author = person(world, "author", Role.INSTRUCTOR)
    staff = token_for(api := api_of(world), author)
    before = versions(world.db)
    padded = {**NEW_ITEM, "stem": "x" * MIB}
    reply = api.post("/api/v1/items", headers=staff, json=padded)
    assert reply.status_code == 413
    assert reply.json() == {"error": {
        "code": "too_large",
        "message": f"the request body is larger than {MIB} bytes, the most this address accepts",
        "details": {"limit_bytes": MIB}}}
    assert versions(world.db) == before
    assert api.get("/api/v1/items/api-made-item", headers=staff).status_code == 404
    assert api.post("/api/v1/items", headers=staff, json=NEW_ITEM).status_code == 201  # the same, smaller


def test_a_streamed_body_past_the_limit_is_refused(world: World) -> None:
    author = person(world, "author", Role.INSTRUCTOR)
    staff = token_for(api := api_of(world), author)
    before = versions(world.db)
    chunks = (b"x" * (64 * 1024) for _ in range(17))  # 1 MiB + 64 KiB, chunked: no Content-Length
    reply = api.post("/api/v1/items", headers={**staff, "content-type": "application/json"}, content=chunks)
    assert reply.status_code == 413
    assert reply.json()["error"] == {
        "code": "too_large",
        "message": f"the request body is larger than {MIB} bytes, the most this address accepts",
        "details": {"limit_bytes": MIB}}
    assert versions(world.db) == before


def test_the_middleware_stops_a_stream_at_the_chunk_that_crosses_the_limit() -> None:
    read: list[int] = []

    async def reader(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            read.append(len(message["body"]))
            if not message.get("more_body"):
                return

    chunks = [{"type": "http.request", "body": b"x" * 400, "more_body": True} for _ in range(5)]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0)

    async def send(_message: Any) -> None:
        raise AssertionError("the middleware answers nothing itself for a stream")

    limit = BodySizeLimit(reader, default=1000, larger={})
    scope = {"type": "http", "method": "POST", "path": "/api/v1/items", "root_path": "", "headers": []}
    with pytest.raises(BodyTooLarge) as raised:
        anyio.run(limit, scope, receive, send)
    assert read == [400, 400]  # the third chunk (1,200 bytes in all) was never handed on
    assert raised.value.status_code == 413 and raised.value.limit == 1000


def test_the_import_takes_more_than_other_routes(world: World) -> None:
    author = person(world, "author", Role.INSTRUCTOR)
    staff = token_for(api := api_of(world), author)
    padded = yaml.safe_dump(NEW_ITEM) + "# padding\n" * (MIB // 10 + 1000)  # past 1 MiB, within 20 MiB
    reply = api.post("/api/v1/items/import", headers=staff, content=padded)
    assert reply.status_code == 200, reply.text
    assert reply.json()["items"] == [{"key": "api-made-item", "version": 1, "created": True}]


def test_a_large_import_is_whole_or_refused_whole(world: World) -> None:
    author = person(world, "author", Role.INSTRUCTOR)
    staff = token_for(api := api_of(world), author)
    before = versions(world.db)
    reply = api.post("/api/v1/items/import", headers=staff, content=b"#" * (20 * MIB + 1))
    assert reply.status_code == 413
    assert reply.json() == {"error": {
        "code": "too_large",
        "message": f"the request body is larger than {20 * MIB} bytes, the most this address accepts",
        "details": {"limit_bytes": 20 * MIB}}}
    assert versions(world.db) == before


def test_a_web_form_past_the_limit_gets_an_error_page(world: World) -> None:
    api = api_of(world)
    reply = api.post("/login", data={"username": "x" * MIB, "password": "p", "csrf_token": "t"})
    assert reply.status_code == 413
    assert reply.headers["content-type"].startswith("text/html")
    assert "<h1>Too large</h1>" in reply.text
    assert f"larger than {MIB} bytes" in reply.text
    assert reply.headers["x-frame-options"] == "DENY"  # still a page like any other


# --- sign-in rate limits ------------------------------------------------------------------------


def test_wrong_passwords_for_one_username_from_one_address_are_slowed(world: World, clock: Clock) -> None:
    person(world, "ada")
    api = api_of(world)
    for _ in range(10):
        assert sign_in(api, "ada", "wrong").status_code == 401
    refused = sign_in(api, "ada")  # even the right password: guessing must not learn from the answer
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"  # past 10 failures, a wait: 1 s, doubling per failure
    assert refused.json() == {"error": {
        "code": "too_many_requests",
        "message": "too many failed sign-ins for this username; try again in 1 second",
        "details": {"retry_after": 1}}}

    assert sign_in(another_address(world), "ada").status_code == 200  # elsewhere, ada is not held up
    assert sign_in(api, "ADA", "wrong").status_code == 429  # usernames are counted whatever their case
    clock.advance(seconds=1)
    assert sign_in(api, "ada", "wrong").status_code == 401  # one more guess, a second later
    assert sign_in(api, "ada").headers["retry-after"] == "2"
    clock.advance(seconds=2)
    assert sign_in(api, "ada").status_code == 200


def test_a_successful_sign_in_forgets_the_failures(world: World) -> None:
    person(world, "ada")
    api = api_of(world)
    for _ in range(9):
        assert sign_in(api, "ada", "wrong").status_code == 401
    assert sign_in(api, "ada").status_code == 200
    for _ in range(10):
        assert sign_in(api, "ada", "wrong").status_code == 401
    assert sign_in(api, "ada", "wrong").status_code == 429


def check_password(password: str) -> None:
    if password != PASSWORD:
        raise Unauthorized("wrong username or password")


def test_a_class_of_400_behind_one_address_signs_in_at_nine(settings: Settings) -> None:
    """Every student from one NAT address within a minute, one in ten mistyping twice first:
    nobody is held up (the limits themselves; the routes are wired to them in the tests above)."""
    limits = Limits(settings)
    held_up = []
    for n in range(400):
        at = T0 + timedelta(seconds=n * 0.15)
        for password in ["typo", "typo", PASSWORD] if n % 10 == 0 else [PASSWORD]:
            try:
                with limits.signing_in("203.0.113.9", f"s{n:03d}", at):
                    check_password(password)
            except TooManyRequests:
                held_up.append(n)
            except Unauthorized:
                pass
    assert held_up == []
    assert len(limits.limiter) == 1  # the address's count; each success forgot its failures


def test_every_attempt_counts_against_its_address(world: World, clock: Clock) -> None:
    person(world, "ada")
    api = api_of(world)
    api.app.state.limits = Limits(Settings(secret_key="k" * 40, sign_in_attempts=5, sign_in_attempts_seconds=60))
    for _ in range(5):
        assert sign_in(api, "ada").status_code == 200
    refused = sign_in(api, "ada")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "12"
    assert refused.json()["error"]["message"] == "too many sign-ins from your address; try again in 12 seconds"
    assert sign_in(another_address(world), "ada").status_code == 200
    clock.advance(seconds=12)
    assert sign_in(api, "ada").status_code == 200


def test_a_refused_sign_in_checks_no_password_and_writes_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    person(world, "ada")
    api = api_of(world)
    for _ in range(10):
        sign_in(api, "ada", "wrong")
    checks = []
    monkeypatch.setattr(auth_service, "verify_password", lambda *args: checks.append(args) or False)
    assert sign_in(api, "ada").status_code == 429
    assert checks == []


def test_the_web_sign_in_form_is_limited_too(world: World, clock: Clock) -> None:
    person(world, "ada")
    api = api_of(world)

    def post(password: str) -> Any:
        token = api.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        return api.post("/login", data={"csrf_token": token, "username": "ada", "password": password},
                        follow_redirects=False)

    for _ in range(10):
        assert post("wrong").status_code == 401
    refused = post(PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert "Too many sign-in attempts: try again in 1 second." in refused.text
    assert 'value="ada"' in refused.text  # the form keeps the username
    assert sign_in(api, "ada").status_code == 429  # the API and the form share the count
    clock.advance(seconds=1)
    assert post(PASSWORD).status_code == 303


def test_personal_tokens_are_limited_per_user(world: World, clock: Clock) -> None:
    ada = person(world, "ada")
    headers = token_for(api := api_of(world), ada)
    for n in range(20):
        assert api.post("/api/v1/auth/tokens", headers=headers, json={"name": f"t{n}"}).status_code == 201
    refused = api.post("/api/v1/auth/tokens", headers=headers, json={"name": "one too many"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "180"
    assert refused.json()["error"]["message"] == "too many tokens created; try again in 3 minutes"
    assert world.db.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == ada.id)) == 20
    other = token_for(api, person(world, "bob"))
    assert api.post("/api/v1/auth/tokens", headers=other, json={"name": "bob's"}).status_code == 201
    clock.advance(seconds=180)
    assert api.post("/api/v1/auth/tokens", headers=headers, json={"name": "later"}).status_code == 201


def test_lti_login_and_launch_count_against_their_address(world: World) -> None:
    api = api_of(world)
    api.app.state.limits = Limits(Settings(secret_key="k" * 40, sign_in_attempts=2))
    assert api.get("/lti/login").status_code == 400  # an empty login initiation, refused as such
    assert api.post("/lti/launch", data={}).status_code == 400
    refused = api.get("/lti/login")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "30"
    assert "<h1>Too many requests</h1>" in refused.text
    assert "too many sign-ins from your address; try again in 30 seconds" in refused.text


# --- the rate limiter itself --------------------------------------------------------------------


def test_a_bucket_is_taken_from_by_one_thread_at_a_time() -> None:
    limiter = RateLimiter()
    rate = Rate(100, 3600)
    taken = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        taken.extend(limiter.take(("k",), rate, 0.0) == 0.0 for _ in range(50))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert taken.count(True) == 100 and taken.count(False) == 300


def test_the_limiter_forgets_refilled_buckets_and_keeps_at_most_max_keys() -> None:
    limiter = RateLimiter(max_keys=100)
    rate = Rate(10, 60)
    for n in range(99):
        limiter.take(("k", str(n)), rate, 0.0)
    assert len(limiter) == 99
    limiter.take(("k", "99"), rate, 0.0)
    limiter.take(("k", "100"), rate, 0.0)  # past the bound: the least recently used go, down to 90
    assert len(limiter) == 90
    for n in range(1000):
        limiter.take(("flood", str(n)), rate, 1.0)
        assert len(limiter) <= 100
    limiter.take(("k", "late"), rate, 120.0)
    for n in range(limiter.SWEEP_EVERY):
        limiter.take(("later", str(n)), rate, 120.0)  # a sweep: the old, refilled buckets are gone
    assert all(key[0] == "later" or key == ("k", "late") for key in limiter._buckets)


def test_a_new_key_keeps_the_event_taken_as_it_starts_a_sweep() -> None:
    """The sweep a new key starts drops idle entries, and a new bucket is full (so idle) until the
    take that made it: it was once dropped with that take, which was lost."""
    limiter = RateLimiter()
    rate = Rate(1, 60)
    for n in range(limiter.SWEEP_EVERY - 1):
        limiter.take(("k", str(n)), rate, 0.0)
    assert limiter.take(("the", "sweeper"), rate, 0.0) == 0.0
    assert limiter.take(("the", "sweeper"), rate, 0.0) == 60.0
    failures = Backoff(free=1, first=5, longest=5, forget=60)
    for n in range(limiter.SWEEP_EVERY - 1):
        limiter.take(("j", str(n)), rate, 0.0)
    assert limiter.fail(("a", "failure"), failures, 0.0) == 0.0
    assert limiter.fail(("a", "failure"), failures, 0.0) == 5.0


def test_the_wait_after_failures_doubles_up_to_its_longest() -> None:
    backoff = Backoff(free=3, first=1, longest=60, forget=900)
    assert [backoff.delay(n) for n in range(12)] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff.delay(10**6) == 60


def test_a_sign_in_that_fails_for_another_reason_counts_no_failure(settings: Settings) -> None:
    """A database that is down is not a wrong password: the try's place in the count is given back."""
    limits = Limits(settings)
    for _ in range(3 * settings.sign_in_failures):
        with pytest.raises(RuntimeError), limits.signing_in("203.0.113.9", "ada", T0):
            raise RuntimeError("the database is down")
    with pytest.raises(Unauthorized), limits.signing_in("203.0.113.9", "ada", T0):
        check_password("wrong")


def test_a_clock_that_steps_back_refills_nothing() -> None:
    limiter = RateLimiter()
    rate = Rate(1, 10)
    assert limiter.take(("k",), rate, 100.0) == 0.0
    assert limiter.take(("k",), rate, 50.0) == 10.0
    assert limiter.take(("k",), rate, 105.0) == 5.0


# --- pagination ---------------------------------------------------------------------------------


LISTS = ["/api/v1/items", "/api/v1/courses", "/api/v1/courses/llms/enrolments", "/api/v1/quizzes",
         "/api/v1/auth/tokens", "/api/v1/users", "/api/v1/lti/registrations"]


@pytest.mark.parametrize("path", LISTS)
def test_every_list_refuses_a_page_past_its_cap(world: World, path: str) -> None:
    admin = person(world, "root", Role.ADMIN)
    world.course("llms", (admin, CourseRole.INSTRUCTOR))
    headers = token_for(api := api_of(world), admin)
    assert api.get(path, headers=headers, params={"limit": MAX_LIMIT}).status_code == 200
    for params, where, message in (
        ({"limit": MAX_LIMIT + 1}, "limit", f"Input should be less than or equal to {MAX_LIMIT}"),
        ({"limit": 0}, "limit", "Input should be greater than or equal to 1"),
        ({"offset": -1}, "offset", "Input should be greater than or equal to 0"),
        ({"offset": 10**20}, "offset", f"Input should be less than or equal to {MAX_OFFSET}"),
    ):
        reply = api.get(path, headers=headers, params=params)
        assert reply.status_code == 422
        assert reply.json()["error"]["details"] == [{"loc": ["query", where], "message": message}]


def test_a_list_pages_with_a_link_to_the_next(world: World) -> None:
    teacher = person(world, "teacher", Role.INSTRUCTOR)
    students = [person(world, f"s{n}") for n in range(4)]
    world.course("llms", (teacher, CourseRole.INSTRUCTOR), *((s, CourseRole.STUDENT) for s in students))
    headers = token_for(api := api_of(world), teacher)
    first = api.get("/api/v1/courses/llms/enrolments", headers=headers, params={"limit": 2})
    assert [e["username"] for e in first.json()] == ["s0", "s1"]
    assert first.headers["link"] == '</api/v1/courses/llms/enrolments?limit=2&offset=2>; rel="next"'
    second = api.get(first.headers["link"][1:].split(">")[0], headers=headers)
    assert [e["username"] for e in second.json()] == ["s2", "s3"]
    assert second.headers["link"] == '</api/v1/courses/llms/enrolments?limit=2&offset=4>; rel="next"'
    last = api.get("/api/v1/courses/llms/enrolments", headers=headers, params={"limit": 2, "offset": 4})
    assert [e["username"] for e in last.json()] == ["teacher"]
    assert "link" not in last.headers
    everyone = api.get("/api/v1/courses/llms/enrolments", headers=headers)  # the default page: 100
    assert len(everyone.json()) == 5 and "link" not in everyone.headers


def test_the_item_list_keeps_its_filters_in_the_next_link(world: World) -> None:
    author = person(world, "author", Role.INSTRUCTOR)
    headers = token_for(api := api_of(world), author)
    reply = api.get("/api/v1/items", headers=headers, params={"tag": "chapter:Ch.4 Alignment", "limit": 1})
    assert len(reply.json()) == 1
    assert reply.headers["link"] == '</api/v1/items?tag=chapter%3ACh.4+Alignment&limit=1&offset=1>; rel="next"'


def test_every_list_the_api_answers_takes_limit_and_offset(app: FastAPI) -> None:
    lists = {}
    for path, operations in app.openapi()["paths"].items():
        get = operations.get("get", {})
        schema = get.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
        if schema.get("schema", {}).get("type") == "array":
            lists[path] = {p["name"] for p in get.get("parameters", [])}
    assert set(LISTS) - {"/api/v1/courses/llms/enrolments"} < set(lists)
    assert {path: names for path, names in lists.items() if not {"limit", "offset"} <= names} == {}


# --- timeouts -----------------------------------------------------------------------------------


def test_assay_serve_bounds_keep_alive_and_shutdown(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(cli, "_upgrade", lambda: None)
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ASSAY_GRACEFUL_SHUTDOWN_SECONDS", "12")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    [options] = calls
    assert options["timeout_keep_alive"] == 5
    assert options["timeout_graceful_shutdown"] == 12


def _served_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, *arguments: str,
                    env: dict[str, str] | None = None) -> Any:
    """What ``assay serve ARGUMENTS`` passes to uvicorn (its result, and the options or None)."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(cli, "_upgrade", lambda: None)
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path))
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["serve", *arguments])
    finally:
        get_settings.cache_clear()
    return result, (calls[0] if calls else None)


def _seen_address(options: dict[str, Any], peer: str, forwarded: str) -> str:
    """The client address Assay's limits see for a request from ``peer`` that says it forwards
    ``forwarded``, served as uvicorn serves it with ``options``."""
    import uvicorn

    from assessments.limits import client_address

    app = FastAPI()

    @app.get("/address")
    def address(request: Request) -> str:
        return client_address(request)

    proxy = {k: v for k, v in options.items() if k in ("proxy_headers", "forwarded_allow_ips")}
    config = uvicorn.Config(app, **proxy)
    config.load()
    with TestClient(config.loaded_app, client=(peer, 40000)) as client:
        seen: str = client.get("/address", headers={"x-forwarded-for": forwarded}).json()
    return seen


def test_assay_serve_believes_no_forwarded_address_unless_told_which_proxies(monkeypatch: pytest.MonkeyPatch,
                                                                             tmp_path: Any) -> None:
    """By default a request's X-Forwarded-For is ignored, also from 127.0.0.1 (uvicorn's own default
    believes it from there): anything on the host could otherwise pick the address the limits count."""
    result, options = _served_options(monkeypatch, tmp_path)
    assert result.exit_code == 0, result.output
    assert "X-Forwarded-For and X-Forwarded-Proto: ignored" in result.output
    assert _seen_address(options, "127.0.0.1", "203.0.113.7") == "127.0.0.1"

    result, options = _served_options(monkeypatch, tmp_path, "--forwarded-allow-ips", "127.0.0.1, ::1")
    assert result.exit_code == 0, result.output
    assert "believed from 127.0.0.1, ::1" in result.output
    assert _seen_address(options, "127.0.0.1", "203.0.113.7") == "203.0.113.7"
    assert _seen_address(options, "198.51.100.2", "203.0.113.7") == "198.51.100.2"  # not a proxy

    result, options = _served_options(monkeypatch, tmp_path, env={"ASSAY_FORWARDED_ALLOW_IPS": "10.0.0.0/8"})
    assert result.exit_code == 0, result.output
    assert _seen_address(options, "10.1.2.3", "203.0.113.7, 10.9.9.9") == "203.0.113.7"
    assert _seen_address(options, "127.0.0.1", "203.0.113.7") == "127.0.0.1"


def test_assay_serve_refuses_a_proxy_that_is_not_an_address(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for value, message in (("nginx", "'nginx' is not an IP address or network (such as 127.0.0.1 or 10.0.0.0/24)"),
                           ("10.0.0.1/24", "'10.0.0.1/24' is not an IP address or network: did you mean 10.0.0.0/24?"),
                           ("*,10.0.0.1", "'*' trusts every address: give it alone")):
        result, options = _served_options(monkeypatch, tmp_path, "--forwarded-allow-ips", value)
        assert result.exit_code == 2 and options is None
        assert f"error: --forwarded-allow-ips: {message}" in result.output


def test_calls_to_platforms_time_out() -> None:
    with http.client() as client:
        assert client.timeout == httpx2.Timeout(10.0)


def _app_with_a_route(database: Database, settings: Settings, statement: str) -> FastAPI:
    """The app on ``database`` (its real sessions), plus a route that makes a course and then runs ``statement``."""
    app = create_app(settings, database)

    @app.post("/api/v1/test/slow")
    def slow(session: SessionDep) -> dict[str, str]:
        session.add(Course(slug="made-then-timed-out", title="T"))
        session.flush()
        session.execute(text(statement))
        return {"status": "finished"}

    return app


def _course_exists(database: Database) -> bool:
    with database.sessions() as session:
        return session.scalar(select(Course.id).where(Course.slug == "made-then-timed-out")) is not None


def test_postgresql_cancels_a_statement_past_the_timeout(database: Database, settings: Settings) -> None:
    if database.is_sqlite:
        pytest.skip("PostgreSQL's statement_timeout")
    timed = Database(database.url, statement_timeout_ms=100)
    try:
        with timed.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "100ms"
        with TestClient(_app_with_a_route(timed, settings, "SELECT pg_sleep(2)")) as api:
            reply = api.post("/api/v1/test/slow")
        assert reply.status_code == 503
        assert reply.headers["retry-after"] == "5"
        assert reply.json() == {"error": {
            "code": "database_busy",
            "message": "the database is too busy to answer now; nothing was changed: try again"}}
        assert not _course_exists(timed)
    finally:
        timed.dispose()


def test_sqlite_waits_its_busy_timeout_for_the_write_lock_then_answers_503(database: Database,
                                                                           settings: Settings) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite's busy timeout")
    impatient = Database(database.url, busy_timeout_ms=50)
    holder = Database(database.url)
    try:
        with impatient.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 50
        with holder.engine.connect() as locked:
            locked.exec_driver_sql("SELECT 1")  # its transaction began IMMEDIATE: it holds the write lock
            with TestClient(_app_with_a_route(impatient, settings, "SELECT 1")) as api:
                reply = api.post("/api/v1/test/slow")
            locked.rollback()
        assert reply.status_code == 503
        assert reply.headers["retry-after"] == "5"
        assert reply.json()["error"]["code"] == "database_busy"
        assert not _course_exists(impatient)
    finally:
        impatient.dispose()
        holder.dispose()


def test_the_app_gives_its_connections_the_configured_timeouts(database: Database, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"database_url": database.url, "statement_timeout_ms": 1234,
                                                 "sqlite_busy_timeout_ms": 4321}))
    built: Database = app.state.database
    try:
        with built.engine.connect() as connection:
            if built.is_sqlite:
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4321
            else:
                assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "1234ms"
    finally:
        built.dispose()
