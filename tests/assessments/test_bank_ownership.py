"""The bank's ownership model: who may read, use and edit which bank, and how a new version
reaches a quiz (only when its instructors choose it).

The scene: the course ``llms`` owns its course bank (an item ``llms-private``) and a shared bank
``llms-shared`` (an item ``llms-shared-item``) that ``rl`` may use and ``nlp`` may edit; ``cv``
has no grant; the shipped samples live in the open library. ``two-hats`` teaches ``cv`` and is a
student of ``llms``, in the middle of a quiz that gives them ``llms-private`` and ``numeric``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from assessments.bank import repository
from assessments.bank.service import save_definition
from assessments.models import (
    Bank,
    BankGrant,
    Course,
    CourseRole,
    Enrolment,
    Item,
    ItemVersion,
    QuestionAttempt,
    Quiz,
    Role,
    User,
)
from tests.assessments.conftest import SAMPLES, T0, World


def definition(sample: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(textwrap.dedent(SAMPLES[sample])) | changes
    return data


@dataclass
class Scene:
    world: World
    people: dict[str, User]
    courses: dict[str, Course]
    shared: Bank
    two_hats_attempt: int

    @property
    def api(self) -> TestClient:
        assert self.world.client is not None
        return self.world.client

    def as_(self, name: str) -> dict[str, str]:
        return self.world.headers(self.people[name])


@pytest.fixture
def scene(world: World) -> Scene:
    people = {"admin": world.user("admin", Role.ADMIN), "owner": world.user("owner", Role.INSTRUCTOR),
              "user": world.user("user", Role.INSTRUCTOR), "editor": world.user("editor", Role.INSTRUCTOR),
              "outsider": world.user("outsider", Role.INSTRUCTOR), "two-hats": world.user("two-hats", Role.INSTRUCTOR),
              "student": world.user("student")}
    courses = {
        "llms": world.course("llms", (people["owner"], CourseRole.INSTRUCTOR), (people["student"], CourseRole.STUDENT),
                             (people["two-hats"], CourseRole.STUDENT)),
        "rl": world.course("rl", (people["user"], CourseRole.INSTRUCTOR)),
        "nlp": world.course("nlp", (people["editor"], CourseRole.INSTRUCTOR)),
        "cv": world.course("cv", (people["outsider"], CourseRole.INSTRUCTOR),
                           (people["two-hats"], CourseRole.INSTRUCTOR)),
    }
    db = world.db
    own = repository.course_bank(db, courses["llms"])
    save_definition(db, definition("short", id="llms-private", title="A private item"), source="test",
                    actor_id=None, now=T0, bank=own)
    shared = Bank(slug="llms-shared", title="Shared by llms", course_id=courses["llms"].id, created_at=T0)
    db.add(shared)
    db.flush()
    db.add_all([BankGrant(bank_id=shared.id, course_id=courses["rl"].id, can_edit=False, created_at=T0),
                BankGrant(bank_id=shared.id, course_id=courses["nlp"].id, can_edit=True, created_at=T0)])
    save_definition(db, definition("tf", id="llms-shared-item", title="A shared item"), source="test",
                    actor_id=None, now=T0, bank=shared)
    quiz = world.quiz(courses["llms"], ["llms-private", "numeric"])
    started = world.client.post(f"/api/v1/quizzes/{quiz.id}/attempts",  # type: ignore[union-attr]
                                headers=world.headers(people["two-hats"]))
    assert started.status_code == 201, started.text
    return Scene(world, people, courses, shared, started.json()["id"])


# --- reading --------------------------------------------------------------------------------------

READERS = {
    # caller:      llms-private, llms-shared-item, numeric (library)
    "admin":      (200, 200, 200),
    "owner":      (200, 200, 200),
    "user":       (404, 200, 200),
    "editor":     (404, 200, 200),
    "outsider":   (404, 404, 200),
    "two-hats":   (404, 404, 403),  # numeric is in their own attempt in progress; the course banks are not theirs
    "student":    (403, 403, 403),
}
ITEMS = ("llms-private", "llms-shared-item", "numeric")


@pytest.mark.parametrize("caller", list(READERS))
def test_who_reads_which_item(scene: Scene, caller: str) -> None:
    for key, expected in zip(ITEMS, READERS[caller], strict=True):
        for path in (f"/api/v1/items/{key}", f"/api/v1/items/{key}/preview", f"/api/v1/items/{key}/statistics"):
            reply = scene.api.get(path, headers=scene.as_(caller))
            assert reply.status_code == expected, (caller, path, reply.text)
            if expected == 403 and caller == "two-hats":
                assert reply.json()["error"]["code"] == "item_in_open_attempt"
                assert "finish it first" in reply.json()["error"]["message"]


@pytest.mark.parametrize("caller", ["admin", "owner", "user", "outsider"])
def test_listings_hold_only_the_banks_the_caller_reads(scene: Scene, caller: str) -> None:
    listed = scene.api.get("/api/v1/items?limit=500", headers=scene.as_(caller))
    assert listed.status_code == 200, listed.text
    keys = {i["key"] for i in listed.json()}
    expected = {key for key, status in zip(ITEMS, READERS[caller], strict=True) if status == 200}
    assert keys & set(ITEMS) == expected
    banks = {b["slug"]: b for b in scene.api.get("/api/v1/banks", headers=scene.as_(caller)).json()}
    readable = {"admin": {"course:llms", "llms-shared", "library"}, "owner": {"course:llms", "llms-shared", "library"},
                "user": {"course:rl", "llms-shared", "library"}, "outsider": {"course:cv", "library"}}[caller]
    assert readable <= set(banks) and not ({"course:llms", "llms-shared"} - readable) & set(banks)
    if "llms-shared" in banks:
        assert banks["llms-shared"]["can_edit"] is (caller in {"admin", "owner"})
        grants = banks["llms-shared"]["grants"]
        assert grants == ([{"course": "nlp", "can_edit": True}, {"course": "rl", "can_edit": False}]
                          if caller in {"admin", "owner"} else None)


def test_the_bank_page_and_item_page_follow_the_same_rights(scene: Scene) -> None:
    api = scene.api
    signed_in = api.post("/login", data={"username": "outsider", "password": "correct horse battery",
                                         "csrf_token": _csrf(api)}, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text
    page = api.get("/bank?q=llms")
    assert page.status_code == 200
    assert "llms-private" not in page.text and "llms-shared-item" not in page.text
    assert api.get("/bank/llms-private").status_code == 404
    assert api.get("/bank/numeric").status_code == 200


def _csrf(api: TestClient) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', api.get("/login").text)
    assert found is not None
    return found.group(1)


def test_an_open_attempt_hides_its_items_from_its_student_until_it_is_finished(scene: Scene) -> None:
    me = scene.as_("two-hats")
    export = scene.api.get("/api/v1/items/export", headers=me)
    assert export.status_code == 403 and export.json()["error"]["code"] == "item_in_open_attempt"
    assert "numeric" in export.json()["error"]["message"]
    # Another item of the library is still theirs to read, and an export without these items works.
    assert scene.api.get("/api/v1/items/tf", headers=me).status_code == 200
    assert scene.api.get("/api/v1/items/export?q=bradley", headers=me).status_code == 200
    submitted = scene.api.post(f"/api/v1/attempts/{scene.two_hats_attempt}/submit", headers=me)
    assert submitted.status_code == 200, submitted.text
    assert scene.api.get("/api/v1/items/numeric", headers=me).status_code == 200
    assert scene.api.get("/api/v1/items/llms-private", headers=me).status_code == 404  # never theirs


# --- editing --------------------------------------------------------------------------------------

EDITORS = {
    # caller:      llms-private, llms-shared-item, numeric (library)
    "admin":      (200, 200, 200),
    "owner":      (200, 200, 403),
    "user":       (404, 403, 403),
    "editor":     (404, 200, 403),
    "outsider":   (404, 404, 403),
}


@pytest.mark.parametrize("caller", list(EDITORS))
def test_who_publishes_new_versions(scene: Scene, caller: str) -> None:
    bodies = {"llms-private": definition("short", id="llms-private", title="Edited"),
              "llms-shared-item": definition("tf", id="llms-shared-item", title="Edited"),
              "numeric": definition("numeric", title="Edited")}
    for key, expected in zip(ITEMS, EDITORS[caller], strict=True):
        reply = scene.api.put(f"/api/v1/items/{key}", headers=scene.as_(caller), json=bodies[key])
        assert reply.status_code == expected, (caller, key, reply.text)
        if expected == 403:
            assert reply.json()["error"]["code"] == "bank_read_only"
        # POST with the same id is the same rule (the same definition again: 200, nothing new made).
        posted = scene.api.post("/api/v1/items", headers=scene.as_(caller), json=bodies[key])
        assert posted.status_code == (200 if expected == 200 else 409 if expected == 404 else expected), posted.text


def test_a_new_item_goes_to_the_one_course_bank_or_must_name_its_bank(scene: Scene) -> None:
    made = scene.api.post("/api/v1/items", headers=scene.as_("user"), json=definition("short", id="rl-item"))
    assert made.status_code == 201, made.text
    assert scene.api.get("/api/v1/items/rl-item", headers=scene.as_("user")).json()["bank"] == "course:rl"
    # two-hats teaches one course (cv) too; an instructor of two courses must say which.
    enrol = scene.world.course("second", (scene.people["user"], CourseRole.INSTRUCTOR))
    assert enrol.slug == "second"
    refused = scene.api.post("/api/v1/items", headers=scene.as_("user"), json=definition("short", id="rl-two"))
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "bank_required"
    assert "course:rl" in error["message"] and "course:second" in error["message"]
    assert "llms-shared" not in error["message"]  # read-only for rl
    named = scene.api.post("/api/v1/items?bank=course:second", headers=scene.as_("user"),
                           json=definition("short", id="rl-two"))
    assert named.status_code == 201, named.text
    into_shared = scene.api.post("/api/v1/items?bank=llms-shared", headers=scene.as_("user"),
                                 json=definition("short", id="rl-three"))
    assert into_shared.status_code == 403 and into_shared.json()["error"]["code"] == "bank_read_only"
    into_foreign = scene.api.post("/api/v1/items?bank=course:llms", headers=scene.as_("user"),
                                  json=definition("short", id="rl-four"))
    assert into_foreign.status_code == 404


def test_an_id_of_another_bank_is_a_conflict_and_an_import_changes_nothing(scene: Scene) -> None:
    taken = scene.api.post("/api/v1/items", headers=scene.as_("outsider"),
                           json=definition("short", id="llms-private"))
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "item_in_another_bank"
    text_ = yaml.safe_dump_all([definition("short", id="cv-new"), definition("short", id="llms-private")])
    imported = scene.api.post("/api/v1/items/import", headers=scene.as_("outsider"), content=text_)
    assert imported.status_code == 409, imported.text
    assert scene.world.db.scalars(select(Item).where(Item.key == "cv-new")).first() is None


def test_moving_an_item_needs_the_bank_it_leaves_and_the_one_it_joins(scene: Scene) -> None:
    refused = scene.api.post("/api/v1/items/llms-shared-item/move", headers=scene.as_("editor"),
                             json={"bank": "course:nlp"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "bank_not_managed"
    moved = scene.api.post("/api/v1/items/llms-private/move", headers=scene.as_("owner"),
                           json={"bank": "llms-shared"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["bank"] == "llms-shared"
    assert scene.api.get("/api/v1/items/llms-private", headers=scene.as_("user")).status_code == 200


def test_banks_are_made_and_shared_by_their_course(scene: Scene) -> None:
    api = scene.api
    made = api.post("/api/v1/banks", headers=scene.as_("user"),
                    json={"slug": "rl-pool", "title": "RL pool", "course": "rl"})
    assert made.status_code == 201, made.text
    assert made.json() | {"grants": None} == {"slug": "rl-pool", "title": "RL pool", "course": "rl",
                                              "open_to_all": False, "items": 0, "can_edit": True,
                                              "can_manage": True, "grants": None}
    for body, status, code in (
        ({"slug": "x-pool", "title": "X", "course": "llms"}, 404, "not_found"),          # not their course
        ({"slug": "x-pool", "title": "X"}, 400, "bank_course_required"),
        ({"slug": "x-pool", "title": "X", "course": "rl", "open_to_all": True}, 403, "bank_open_admin_only"),
        ({"slug": "rl-pool", "title": "X", "course": "rl"}, 409, "bank_exists"),
        ({"slug": "course:rl", "title": "X", "course": "rl"}, 422, None),
    ):
        reply = api.post("/api/v1/banks", headers=scene.as_("user"), json=body)
        assert reply.status_code == status, (body, reply.text)
        if code:
            assert reply.json()["error"]["code"] == code
    granted = api.put("/api/v1/banks/rl-pool/grants/cv", headers=scene.as_("user"), json={"can_edit": False})
    assert granted.status_code == 200 and granted.json()["grants"] == [{"course": "cv", "can_edit": False}]
    assert api.get("/api/v1/banks/rl-pool", headers=scene.as_("outsider")).json()["can_manage"] is False
    assert api.put("/api/v1/banks/rl-pool/grants/nlp", headers=scene.as_("outsider"), json={}).status_code == 403
    assert api.put("/api/v1/banks/rl-pool/grants/rl", headers=scene.as_("user"), json={}).status_code == 400
    revoked = api.delete("/api/v1/banks/rl-pool/grants/cv", headers=scene.as_("user"))
    assert revoked.status_code == 200 and revoked.json()["grants"] == []
    assert api.get("/api/v1/banks/rl-pool", headers=scene.as_("outsider")).status_code == 404
    assert api.delete("/api/v1/banks/rl-pool/grants/cv", headers=scene.as_("user")).status_code == 404


# --- quizzes: which banks a course may use, and versions pinned --------------------------------------


def _quiz(scene: Scene, caller: str, course: str, sections: list[dict[str, Any]]) -> Any:
    return scene.api.post(f"/api/v1/courses/{course}/quizzes", headers=scene.as_(caller),
                          json={"title": "Q", "sections": sections})


def test_a_quiz_uses_only_the_banks_its_course_may_use(scene: Scene) -> None:
    assert _quiz(scene, "owner", "llms", [{"items": ["llms-private", "llms-shared-item"]}]).status_code == 201
    assert _quiz(scene, "user", "rl", [{"items": ["llms-shared-item", "numeric"]}]).status_code == 201
    refused = _quiz(scene, "outsider", "cv", [{"items": ["numeric", "llms-private", "llms-shared-item"]}])
    assert refused.status_code == 400
    assert [p["message"] for p in refused.json()["error"]["details"]] == [
        "no item 'llms-private' in the banks this course may use",
        "no item 'llms-shared-item' in the banks this course may use"]
    # A draw never reaches into a bank the course may not use: llms-private is a short-text item.
    drawn = _quiz(scene, "outsider", "cv", [{"draw": {"type": "short_text", "count": 1}}])
    assert drawn.status_code == 201, drawn.text
    pins = scene.api.get(f"/api/v1/quizzes/{drawn.json()['id']}/pins", headers=scene.as_("outsider")).json()
    assert pins["items"] and {p["key"] for p in pins["items"]} == {"short"}


def test_a_new_version_reaches_a_quiz_only_when_its_instructors_choose_it(scene: Scene) -> None:
    api = scene.api
    made = _quiz(scene, "user", "rl", [{"items": ["llms-shared-item"]}])
    quiz_id = made.json()["id"]
    learner = scene.world.user("learner")
    scene.world.db.add(Enrolment(course_id=scene.courses["rl"].id, user_id=learner.id, role=CourseRole.STUDENT))
    scene.world.db.flush()
    first = _take(scene, learner, quiz_id)
    # nlp's instructor publishes version 2 of the shared item: rl's quiz does not change.
    edited = api.put("/api/v1/items/llms-shared-item", headers=scene.as_("editor"),
                     json=definition("tf", id="llms-shared-item", title="A shared item",
                                     stem="Version 2 says something else."))
    assert edited.status_code == 200 and edited.json()["version"] == 2
    assert _version_given(scene, _start(scene, scene.people["user"], quiz_id)) == 1
    pins = api.get(f"/api/v1/quizzes/{quiz_id}/pins", headers=scene.as_("user")).json()
    assert pins["attempts"] == 1  # the learner's; the instructor's start is a preview, counted nowhere
    assert pins["items"] == [{"section": 1, "key": "llms-shared-item", "bank": "llms-shared", "version": 1,
                              "latest_version": 2, "usable": True}]
    regrade = api.post(f"/api/v1/quizzes/{quiz_id}/regrade?dry_run=true", headers=scene.as_("user")).json()
    assert regrade["questions"] == 0  # nothing to replay towards: the pin is still version 1
    dry = api.post(f"/api/v1/quizzes/{quiz_id}/pins", headers=scene.as_("user"), json={})
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    assert dry.json()["changes"] == [{"section": 1, "key": "llms-shared-item", "from_version": 1, "to_version": 2}]
    assert "regrade" in dry.json()["note"]
    assert api.get(f"/api/v1/quizzes/{quiz_id}/pins", headers=scene.as_("user")).json()["items"][0]["version"] == 1
    done = api.post(f"/api/v1/quizzes/{quiz_id}/pins?dry_run=false", headers=scene.as_("user"), json={})
    assert done.json()["dry_run"] is False and len(done.json()["changes"]) == 1
    second = scene.world.user("second-learner")
    scene.world.db.add(Enrolment(course_id=scene.courses["rl"].id, user_id=second.id, role=CourseRole.STUDENT))
    scene.world.db.flush()
    assert _version_given(scene, _start(scene, second, quiz_id)) == 2
    regrade = api.post(f"/api/v1/quizzes/{quiz_id}/regrade?dry_run=true", headers=scene.as_("user")).json()
    assert regrade["questions"] == 1
    assert regrade["students"][0]["attempts"][0]["attempt_id"] == first
    assert regrade["students"][0]["attempts"][0]["questions"][0]["new_version"] == 2


def test_a_revoked_grant_leaves_the_quiz_its_pinned_versions(scene: Scene) -> None:
    api = scene.api
    quiz_id = _quiz(scene, "user", "rl", [{"items": ["llms-shared-item"]}]).json()["id"]
    api.put("/api/v1/items/llms-shared-item", headers=scene.as_("editor"),
            json=definition("tf", id="llms-shared-item", title="Changed"))
    assert api.delete("/api/v1/banks/llms-shared/grants/rl", headers=scene.as_("owner")).status_code == 200
    pins = api.get(f"/api/v1/quizzes/{quiz_id}/pins", headers=scene.as_("user")).json()["items"]
    assert pins[0]["usable"] is False and pins[0]["version"] == 1
    moved = api.post(f"/api/v1/quizzes/{quiz_id}/pins?dry_run=false", headers=scene.as_("user"), json={})
    assert moved.json()["changes"] == []
    assert _version_given(scene, _start(scene, scene.people["user"], quiz_id)) == 1
    assert api.get("/api/v1/items/llms-shared-item", headers=scene.as_("user")).status_code == 404


def test_pins_are_for_the_course_instructors(scene: Scene) -> None:
    quiz_id = _quiz(scene, "owner", "llms", [{"items": ["llms-private"]}]).json()["id"]
    for caller, status in (("student", 403), ("outsider", 404), ("owner", 200), ("admin", 200)):
        assert scene.api.get(f"/api/v1/quizzes/{quiz_id}/pins", headers=scene.as_(caller)).status_code == status
    unknown = scene.api.post(f"/api/v1/quizzes/{quiz_id}/pins", headers=scene.as_("owner"), json={"items": ["nope"]})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "not_pinned"


def _start(scene: Scene, user: User, quiz_id: int) -> int:
    started = scene.api.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=scene.world.headers(user))
    assert started.status_code == 201, started.text
    return int(started.json()["id"])


def _take(scene: Scene, user: User, quiz_id: int) -> int:
    attempt = _start(scene, user, quiz_id)
    saved = scene.api.put(f"/api/v1/attempts/{attempt}/responses/1", headers=scene.world.headers(user),
                          json={"response": {"answer": "true"}, "seq": 0})
    assert saved.status_code == 200, saved.text
    assert scene.api.post(f"/api/v1/attempts/{attempt}/submit", headers=scene.world.headers(user)).status_code == 200
    return attempt


def _version_given(scene: Scene, attempt_id: int) -> int:
    row = scene.world.db.scalars(select(ItemVersion).join(QuestionAttempt, QuestionAttempt.item_version_id
                                                          == ItemVersion.id)
                                 .where(QuestionAttempt.attempt_id == attempt_id)).one()
    return row.number


def test_the_demo_and_direct_quizzes_are_pinned(scene: Scene) -> None:
    quiz = scene.world.db.scalars(select(Quiz).where(Quiz.course_id == scene.courses["llms"].id)).first()
    assert quiz is not None
    pins = scene.api.get(f"/api/v1/quizzes/{quiz.id}/pins", headers=scene.as_("owner")).json()["items"]
    assert [p["key"] for p in pins] == ["llms-private", "numeric"]
