"""Signing in under guessing: the failure limit is taken before the password is checked, a browser
that has signed in before keeps its own limit (OWASP's device cookies), and a limit slows guessing
with a delay that grows instead of locking the account.

The red team's findings, one test each (at least): 40 wrong passwords at once got 20 password
checks where 10 were allowed; ten wrong passwords for a classmate's name, from the same NAT address,
refused the classmate's right password for 90 seconds, renewable by one request per 90 seconds.

Rate-limit time is the service clock (``clock.advance``); the concurrency tests use real threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from assessments.app import create_app
from assessments.auth import passwords
from assessments.auth import service as auth_service
from assessments.config import Settings
from assessments.db import Database, session_scope
from assessments.deps import get_now
from assessments.errors import Unauthorized
from assessments.limits import Limits, TooManyRequests
from assessments.migrations import upgrade
from assessments.models import Role, User
from tests.assessments.conftest import PASSWORD, T0, Clock, World

SIGN_IN = "/api/v1/auth/token"
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
NAT = "203.0.113.9"
"""The one address a classroom's machines reach Assay from."""
GUESSES = 40
TIMEOUT = 60.0


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(passwords, "_HASHER", CHEAP)
    yield
    auth_service._decoy_hash.cache_clear()


def person(world: World, username: str) -> User:
    user = User(username=username, display_name=username.title(), role=Role.STUDENT,
                password_hash=CHEAP.hash(PASSWORD))
    world.db.add(user)
    world.db.flush()
    return user


def browser(world: World, host: str = NAT) -> TestClient:
    """A browser of its own (its own cookies) at ``host``."""
    assert world.client is not None
    world.db.commit()  # what the test made stays, whatever a refused request rolls back
    return TestClient(world.client.app, client=(host, 40000))


def csrf_of(client: TestClient) -> str:
    return client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]


def web_sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"csrf_token": csrf_of(client), "username": username, "password": password},
                       follow_redirects=False)


def api_sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post(SIGN_IN, json={"username": username, "password": password})


# --- the limit is taken before the password is checked -------------------------------------------


def test_concurrent_wrong_passwords_get_only_the_allowed_checks(settings: Settings) -> None:
    """40 guesses at once, each holding its password check open: 10 are checked, 30 refused."""
    limits = Limits(settings)
    checked: list[int] = []
    refused: list[float] = []
    barrier = threading.Barrier(GUESSES, timeout=TIMEOUT)

    def check(n: int) -> None:
        checked.append(n)
        time.sleep(0.05)  # a password check takes a while: the others arrive meanwhile
        raise Unauthorized("wrong username or password")

    def guess(n: int) -> None:
        barrier.wait()
        try:
            with limits.signing_in(NAT, "ada", T0):
                check(n)
        except TooManyRequests as exc:
            refused.append(exc.retry_after)
        except Unauthorized:
            pass

    with ThreadPoolExecutor(GUESSES) as pool:
        for future in [pool.submit(guess, n) for n in range(GUESSES)]:
            future.result(timeout=TIMEOUT)
    assert len(checked) == settings.sign_in_failures == 10
    assert len(refused) == GUESSES - 10


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Database]]:
    """The real app on an SQLite file with real commits (the races are between requests), and ada."""
    url = f"sqlite:///{tmp_path / 'assay.sqlite3'}"
    upgrade(url)
    database = Database(url)
    with session_scope(database) as session:
        session.add(User(username="ada", display_name="Ada", role=Role.STUDENT, password_hash=CHEAP.hash(PASSWORD)))
    app = create_app(Settings(data_dir=tmp_path, secret_key="sign-in-" + "k" * 40), database)
    # One instant for every guess, however long the threads take to start: waits are not what is tested.
    app.dependency_overrides[get_now] = lambda: T0
    try:
        # No lifespan: the app's AnyIO gate would be shared by the clients' event loops.
        yield TestClient(app, client=(NAT, 40000)), database
    finally:
        database.dispose()


def test_concurrent_wrong_passwords_through_the_api_get_only_the_allowed_checks(
        served: tuple[TestClient, Database], monkeypatch: pytest.MonkeyPatch) -> None:
    """The same race through ``POST /api/v1/auth/token``, 40 threads each with its own client."""
    client, _ = served
    checks: list[str] = []
    real = auth_service.verify_password

    def slow(stored: str | None, password: str) -> bool:
        checks.append(password)
        time.sleep(0.05)
        return real(stored, password)

    monkeypatch.setattr(auth_service, "verify_password", slow)
    clients = [TestClient(client.app, client=(NAT, 40000 + n)) for n in range(GUESSES)]
    barrier = threading.Barrier(GUESSES, timeout=TIMEOUT)

    def guess(n: int) -> int:
        barrier.wait()
        return api_sign_in(clients[n], "ada", f"wrong {n}").status_code

    with ThreadPoolExecutor(GUESSES) as pool:
        statuses = [f.result(timeout=TIMEOUT) for f in [pool.submit(guess, n) for n in range(GUESSES)]]
    assert sorted(statuses) == [401] * 10 + [429] * 30
    assert len(checks) == 10


def test_a_right_password_gives_its_turn_back(world: World, clock: Clock) -> None:
    """A sign-in that succeeds is not a failure: it forgets the failures before it."""
    person(world, "ada")
    api = browser(world)
    for _ in range(9):
        assert api_sign_in(api, "ada", "wrong").status_code == 401
    assert api_sign_in(api, "ada").status_code == 200
    for _ in range(10):
        assert api_sign_in(api, "ada", "wrong").status_code == 401
    assert api_sign_in(api, "ada", "wrong").status_code == 429


# --- a classmate's typos do not lock anyone out ---------------------------------------------------


def test_a_classmates_wrong_passwords_do_not_refuse_you_on_your_own_device(world: World) -> None:
    """Ada has signed in on her laptop before; from the same NAT address, a classmate types 40
    wrong passwords for her name on a lab machine: Ada's right password from her laptop works."""
    person(world, "ada")
    laptop, lab = browser(world), browser(world)
    assert web_sign_in(laptop, "ada").status_code == 303
    assert laptop.post("/logout", data={"csrf_token": csrf_of(laptop)}, follow_redirects=False).status_code == 303
    outcomes = [web_sign_in(lab, "ada", "wrong").status_code for _ in range(GUESSES)]
    assert outcomes[:10] == [401] * 10 and set(outcomes[10:]) == {429}
    assert web_sign_in(laptop, "ada").status_code == 303


def test_a_device_has_its_own_limit(world: World, clock: Clock) -> None:
    """Guessing from a browser that holds Ada's device cookie is limited on that cookie alone."""
    person(world, "ada")
    laptop, lab = browser(world), browser(world)
    assert web_sign_in(laptop, "ada").status_code == 303
    for _ in range(10):
        assert web_sign_in(laptop, "ada", "wrong").status_code == 401
    refused = web_sign_in(laptop, "ada")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert web_sign_in(lab, "ada").status_code == 303  # the laptop's failures are its own
    clock.advance(seconds=1)
    assert web_sign_in(laptop, "ada").status_code == 303


def test_a_device_cookie_is_for_its_username_only(world: World) -> None:
    """Ada's cookie does not make her laptop trusted for Ben's name: those guesses count as any other's."""
    person(world, "ada")
    person(world, "ben")
    laptop, lab = browser(world), browser(world)
    assert web_sign_in(laptop, "ada").status_code == 303
    for _ in range(5):
        assert web_sign_in(laptop, "ben", "wrong").status_code == 401
        assert web_sign_in(lab, "ben", "wrong").status_code == 401
    assert web_sign_in(lab, "ben").status_code == 429


def test_a_forged_or_expired_device_cookie_is_no_device(world: World, clock: Clock) -> None:
    person(world, "ada")
    laptop, lab = browser(world), browser(world)
    assert web_sign_in(laptop, "ada").status_code == 303
    cookie = laptop.cookies["assay_device"]
    for _ in range(10):
        assert web_sign_in(lab, "ada", "wrong").status_code == 401
    forged = browser(world)
    forged.cookies.set("assay_device", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"), path="/login")
    assert web_sign_in(forged, "ada").status_code == 429
    copied = browser(world)
    copied.cookies.set("assay_device", cookie, path="/login")
    assert web_sign_in(copied, "ada").status_code == 303  # (the cookie itself, unchanged, is trusted)
    clock.advance(days=365)  # the cookie has expired; the failures are long forgotten
    for _ in range(10):
        assert web_sign_in(lab, "ada", "wrong").status_code == 401
    assert web_sign_in(laptop, "ada").status_code == 429


def test_the_device_cookie_is_kept_for_the_sign_in_form_only(world: World, settings: Settings) -> None:
    person(world, "ada")
    laptop = browser(world)
    reply = web_sign_in(laptop, "ada")
    set_cookies = [v for k, v in reply.headers.multi_items() if k == "set-cookie" and v.startswith("assay_device=")]
    assert len(set_cookies) == 1
    attributes = {part.strip().split("=")[0].lower() for part in set_cookies[0].split(";")}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes
    written = set_cookies[0].lower()
    assert "path=/login" in written and "samesite=strict" in written
    assert f"max-age={settings.device_cookie_days * 86400}" in written
    assert "ada" not in set_cookies[0].split(";")[0]  # the cookie does not name its user


# --- a delay that grows, not a block --------------------------------------------------------------


def test_without_a_device_cookie_the_wait_starts_short_and_doubles(world: World, clock: Clock) -> None:
    """A lab machine (no device cookie): after 10 failures for a name from one address, each
    further try waits 1 s, then 2, 4, ... at most a minute; the right password gets in as soon as
    the wait is over."""
    person(world, "ada")
    lab = browser(world)
    for _ in range(10):
        assert web_sign_in(lab, "ada", "wrong").status_code == 401
    waits = []
    for _ in range(9):
        refused = web_sign_in(lab, "ada", "wrong")
        assert refused.status_code == 429
        waits.append(int(refused.headers["retry-after"]))
        clock.advance(seconds=waits[-1])
        assert web_sign_in(lab, "ada", "wrong").status_code == 401
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    refused = web_sign_in(lab, "ada")
    assert refused.status_code == 429 and "Too many sign-in attempts: try again in 60 seconds." in refused.text
    clock.advance(seconds=60)
    assert web_sign_in(lab, "ada").status_code == 303


def test_a_classmates_typos_hold_you_up_a_second_not_ninety(world: World, clock: Clock) -> None:
    """Without her device cookie, Ada waits out only the wait her classmate's failures earned."""
    person(world, "ada")
    lab, other_lab = browser(world), browser(world)
    for _ in range(10):
        assert web_sign_in(lab, "ada", "wrong").status_code == 401
    refused = web_sign_in(other_lab, "ada")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    clock.advance(seconds=1)
    assert web_sign_in(other_lab, "ada").status_code == 303


def test_failures_are_forgotten_after_a_quiet_quarter_hour(world: World, clock: Clock) -> None:
    person(world, "ada")
    api = browser(world)
    for _ in range(14):
        clock.advance(seconds=60)
        assert api_sign_in(api, "ada", "wrong").status_code == 401
    assert api_sign_in(api, "ada").headers["retry-after"] == "16"
    clock.advance(seconds=899)
    assert api_sign_in(api, "ada", "wrong").status_code == 401  # the wait is over, the count is not
    assert api_sign_in(api, "ada").headers["retry-after"] == "32"
    clock.advance(seconds=900)
    for _ in range(10):
        assert api_sign_in(api, "ada", "wrong").status_code == 401
    assert api_sign_in(api, "ada").headers["retry-after"] == "1"


def test_the_api_counts_per_username_and_address_with_the_same_delay(world: World, clock: Clock) -> None:
    """A script has no device cookie: the API's sign-ins are limited as a browser's without one,
    and share the count with the form."""
    person(world, "ada")
    api = browser(world)
    for _ in range(5):
        assert api_sign_in(api, "ada", "wrong").status_code == 401
        assert web_sign_in(api, "ada", "wrong").status_code == 401
    refused = api_sign_in(api, "ADA")  # usernames are counted whatever their case
    assert refused.status_code == 429
    assert refused.json() == {"error": {
        "code": "too_many_requests",
        "message": "too many failed sign-ins for this username; try again in 1 second",
        "details": {"retry_after": 1}}}
    assert api_sign_in(browser(world, "198.51.100.7"), "ada").status_code == 200  # elsewhere, not held up
    clock.advance(seconds=1)
    assert api_sign_in(api, "ada").status_code == 200
