"""Practice over REST, as a student and an instructor meet it (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import html
import json
from typing import Any

from sqlalchemy.orm import Session

from assessments.bank.service import variant_of
from assessments.models import Course, CourseRole, ItemVersion, Practice, PracticeQuestion, Role
from assessments.web.security import CSRF_FIELD
from engine.qtypes import ResponseError, qtype_for
from tests.assessments.conftest import World
from tests.assessments.test_authorization import session_cookie

QUIZ_ITEMS = ["evaluating-reward-model-score-outputs", "ranking-loss-which-pair-is-penalised",
              "bradley-terry-preference-probability", "dpo-loss-value", "rlhf-reward-hacking-spike-root-cause"]


def _variant(db: Session, question_id: int) -> Any:
    row = db.get(PracticeQuestion, question_id)
    assert row is not None
    version = db.get(ItemVersion, row.item_version_id)
    assert version is not None
    return variant_of(version, row.seed)


def _right(db: Session, question_id: int) -> dict[str, Any]:
    variant = _variant(db, question_id)
    return dict(qtype_for(variant.item).shown_response(variant.item, variant))


def _falling_for(db: Session, question_id: int, name: str) -> dict[str, Any] | None:
    """A single-choice response that matches the misconception ``name`` in this variant."""
    variant = _variant(db, question_id)
    qtype = qtype_for(variant.item)
    for position in range(len(variant.order)):
        try:
            grade = qtype.grade(variant.item, variant, qtype.parse(variant.item, variant, {"choice": position}))
        except ResponseError:
            continue
        if grade.misconception == name:
            return {"choice": position}
    return None


def _course_of(db: Session, practice_id: int) -> Course:
    practice = db.get(Practice, practice_id)
    assert practice is not None
    course = db.get(Course, practice.course_id)
    assert course is not None
    return course


def _classroom(world: World) -> tuple[Any, Any, Any, Any, int]:
    teacher, ada, bob = world.user("teacher", Role.INSTRUCTOR), world.user("ada"), world.user("bob")
    course = world.course("llms", (teacher, CourseRole.INSTRUCTOR), (ada, CourseRole.STUDENT),
                          (bob, CourseRole.STUDENT))
    quiz = world.quiz(course, QUIZ_ITEMS)
    assert world.client is not None
    reply = world.client.post(f"/api/v1/courses/{course.slug}/practices", headers=world.headers(teacher),
                              json={"title": "Reward models", "quiz_id": quiz.id})
    assert reply.status_code == 201, reply.text
    return teacher, ada, bob, course, reply.json()["id"]


def _next(world: World, user: Any, practice: int) -> dict[str, Any]:
    assert world.client is not None
    reply = world.client.post(f"/api/v1/practices/{practice}/next", headers=world.headers(user))
    assert reply.status_code == 200, reply.text
    return reply.json()["question"]


def test_a_student_practises_sees_everything_at_once_and_meets_their_mistake_again(world: World, db: Session) -> None:
    teacher, ada, _, _, practice = _classroom(world)
    api = world.client
    assert api is not None
    first = _next(world, ada, practice)
    assert first["rule"] == "information"
    assert first["item"] in QUIZ_ITEMS[:4]  # the essay is no practice item
    assert '"correct"' not in json.dumps(first) and "solution" not in json.dumps(first)
    assert _next(world, ada, practice)["id"] == first["id"]  # the open question until answered

    fresh = api.post(f"/api/v1/practices/{practice}/questions/{first['id']}/variant", headers=world.headers(ada))
    assert fresh.status_code == 200 and fresh.json()["item"] == first["item"] and fresh.json()["id"] == first["id"]

    blank = api.post(f"/api/v1/practices/{practice}/questions/{first['id']}/answer", headers=world.headers(ada),
                     json={"response": {}})
    assert blank.status_code == 400 and blank.json()["error"]["code"] == "invalid_response"
    assert db.get(PracticeQuestion, first["id"]).fraction is None  # nothing changed

    right = api.post(f"/api/v1/practices/{practice}/questions/{first['id']}/answer", headers=world.headers(ada),
                     json={"response": _right(db, first["id"])})
    assert right.status_code == 200, right.text
    graded = right.json()
    assert graded["outcome"] == "right" and graded["fraction"] == 1.0
    assert graded["right_answer"] == _right(db, first["id"]) and graded["solution"]
    assert graded["concepts"] and all(c["answered"] == 1 and c["right"] == 1.0 for c in graded["concepts"])
    again = api.post(f"/api/v1/practices/{practice}/questions/{first['id']}/answer", headers=world.headers(ada),
                     json={"response": _right(db, first["id"])})
    assert again.status_code == 409

    # In a practice of two items sharing a mistake, Ada answers the single-choice one by the
    # absolute scores: the next item is the other, which carries the same mistake.
    pair = world.quiz(_course_of(db, practice), QUIZ_ITEMS[:2])
    made = api.post(f"/api/v1/courses/{_course_of(db, practice).slug}/practices", headers=world.headers(teacher),
                    json={"title": "Ranking loss", "quiz_id": pair.id})
    assert made.status_code == 201, made.text
    two = made.json()["id"]
    question = _next(world, ada, two)
    if question["item"] != QUIZ_ITEMS[0]:
        api.post(f"/api/v1/practices/{two}/questions/{question['id']}/answer", headers=world.headers(ada),
                 json={"response": _right(db, question["id"])})
        question = _next(world, ada, two)  # the other item: the one just answered is passed over
    assert question["item"] == QUIZ_ITEMS[0]
    mistaken = _falling_for(db, question["id"], "absolute-scores")
    assert mistaken is not None
    wrong = api.post(f"/api/v1/practices/{two}/questions/{question['id']}/answer", headers=world.headers(ada),
                     json={"response": mistaken}).json()
    assert wrong["outcome"] == "wrong" and wrong["misconception"] == "absolute-scores" and wrong["feedback"]
    remedy = _next(world, ada, two)
    assert (remedy["rule"], remedy["item"]) == ("remediation", "ranking-loss-which-pair-is-penalised")
    practice = two

    mine = api.get(f"/api/v1/practices/{practice}/mastery", headers=world.headers(ada)).json()
    assert mine["user_id"] == ada.id and mine["answered"] >= 2 and 0.0 <= mine["completion"] <= 1.0
    by_concept = {c["concept"]: c for c in mine["concepts"]}
    assert by_concept["ranking-loss-intuition"]["answered"] >= 2
    assert by_concept["ranking-loss-intuition"]["state"] == "learning"
    assert by_concept["reward-model-ranking-loss"]["prerequisites"] == ["ranking-loss-intuition"]

    seen = api.get(f"/api/v1/practices/{practice}/class", headers=world.headers(teacher)).json()
    assert seen["students"] == 1
    rows = {c["concept"]: c for c in seen["concepts"]}
    assert rows["ranking-loss-intuition"]["missed"] == 1
    assert rows["ranking-loss-intuition"]["misconceptions"][0]["name"] == "absolute-scores"
    assert rows["ranking-loss-intuition"]["misconceptions"][0]["count"] == 1
    assert seen["concepts"][0]["missed"] >= seen["concepts"][-1]["missed"]  # most missed first


def test_who_may_do_what(world: World) -> None:
    teacher, ada, bob, course, practice = _classroom(world)
    outsider = world.user("eve")
    api = world.client
    assert api is not None
    question = _next(world, ada, practice)
    for user, status in ((bob, 404), (outsider, 404), (teacher, 404)):
        reply = api.post(f"/api/v1/practices/{practice}/questions/{question['id']}/answer",
                         headers=world.headers(user), json={"response": {"choice": 0}})
        assert reply.status_code == status, (user.username, reply.text)
    assert api.get(f"/api/v1/practices/{practice}/mastery", headers=world.headers(outsider)).status_code == 404
    assert api.get(f"/api/v1/practices/{practice}/mastery?user_id={ada.id}",
                   headers=world.headers(bob)).status_code == 403
    assert api.get(f"/api/v1/practices/{practice}/mastery?user_id={ada.id}",
                   headers=world.headers(teacher)).json()["user_id"] == ada.id
    assert api.get(f"/api/v1/practices/{practice}/class", headers=world.headers(ada)).status_code == 403
    made = api.post(f"/api/v1/courses/{course.slug}/practices", headers=world.headers(ada),
                    json={"title": "Mine", "concepts": ["dpo"]})
    assert made.status_code == 403


def test_a_bad_practice_is_refused_saying_where(world: World) -> None:
    teacher, _, _, course, _ = _classroom(world)
    api = world.client
    assert api is not None
    for body, message in (({"title": "x", "concepts": ["no-such-concept"]}, "concepts: unknown concept"),
                          ({"title": "x"}, "concepts: a practice of the course's concepts"),
                          ({"title": "x", "quiz_id": 999999}, "quiz_id: no quiz 999999")):
        reply = api.post(f"/api/v1/courses/{course.slug}/practices", headers=world.headers(teacher), json=body)
        assert reply.status_code == 400 and message in reply.json()["error"]["message"], reply.text
    unknown_field = api.post(f"/api/v1/courses/{course.slug}/practices", headers=world.headers(teacher),
                             json={"title": "x", "concepts": ["dpo"], "grade": 1})
    assert unknown_field.status_code == 422


def test_a_practice_of_the_course_concepts_asks_their_items(world: World) -> None:
    teacher, ada, _, course, _ = _classroom(world)
    api = world.client
    assert api is not None
    reply = api.post(f"/api/v1/courses/{course.slug}/practices", headers=world.headers(teacher),
                     json={"title": "DPO", "concepts": ["dpo"], "send_completion": True})
    assert reply.status_code == 201, reply.text
    practice = reply.json()["id"]
    question = _next(world, ada, practice)
    assert question["item"] == "dpo-loss-value" and question["concept"] == "dpo"


def test_the_mastery_page_and_the_class_view(world: World, db: Session) -> None:
    teacher, ada, _, _, practice = _classroom(world)
    api = world.client
    assert api is not None
    question = _next(world, ada, practice)
    api.post(f"/api/v1/practices/{practice}/questions/{question['id']}/answer", headers=world.headers(ada),
             json={"response": _right(db, question["id"])})
    settings = api.app.state.settings  # type: ignore[attr-defined]

    def cookie(user: Any) -> dict[str, str]:
        return session_cookie(settings, user_id=user.id, csrf="csrf")

    mine = api.get(f"/practices/{practice}/mastery", headers=cookie(ada))
    assert mine.status_code == 200, mine.text
    assert "<svg" in mine.text and "Map of the concepts" in mine.text
    view = api.get(f"/api/v1/practices/{practice}/mastery", headers=world.headers(ada)).json()
    for concept in view["concepts"]:  # each concept's title, state and evidence, as the API gives them
        assert html.escape(concept["title"]) in mine.text
    answered = [c for c in view["concepts"] if c["answered"]]
    assert answered and mine.text.count("1.0 right of 1;") == len(answered)
    assert "<script" not in mine.text.split("<main", 1)[1].split("</main>", 1)[0]  # the map needs no script
    seen = api.get(f"/practices/{practice}/class", headers=cookie(teacher))
    assert seen.status_code == 200 and "1 student practised" in seen.text
    assert api.get(f"/practices/{practice}/class", headers=cookie(ada)).status_code == 403


def test_a_student_practises_in_the_browser_without_javascript(world: World, db: Session) -> None:
    _, ada, _, course, _ = _classroom(world)
    api = world.client
    assert api is not None
    made = api.post(f"/api/v1/courses/{course.slug}/practices", headers=world.headers(_teacher(db, course)),
                    json={"title": "Bradley-Terry", "concepts": ["bradley-terry-model"]})
    practice = made.json()["id"]
    cookie = session_cookie(api.app.state.settings, user_id=ada.id, csrf="csrf")  # type: ignore[attr-defined]
    shown = api.get(f"/practices/{practice}", headers=cookie)
    assert shown.status_code == 200 and "Check my answer" in shown.text and "New variant" in shown.text
    question = db.query(PracticeQuestion).filter_by(practice_id=practice, user_id=ada.id).one()
    assert "Worked solution" not in shown.text
    again = api.post(f"/practices/{practice}/questions/{question.id}/variant", headers=cookie,
                     data={CSRF_FIELD: "csrf"}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == f"/practices/{practice}"
    refused = api.post(f"/practices/{practice}/questions/{question.id}/answer", headers=cookie,
                       data={CSRF_FIELD: "csrf", "s1-present": "1", "s1-answer": "many"})
    assert refused.status_code == 400 and "There is a problem" in refused.text and 'href="#s1-answer"' in refused.text
    db.refresh(question)
    assert question.fraction is None
    key = _right(db, question.id)["answer"]
    graded = api.post(f"/practices/{practice}/questions/{question.id}/answer", headers=cookie,
                      data={CSRF_FIELD: "csrf", "s1-present": "1", "s1-answer": key})
    assert graded.status_code == 200 and '<h2 id="outcome">Right</h2>' in graded.text
    assert "Worked solution" in graded.text and "Next question" in graded.text


def _teacher(db: Session, course: Course) -> Any:
    from assessments.models import Enrolment, User

    return (db.query(User).join(Enrolment, Enrolment.user_id == User.id)
            .filter(Enrolment.course_id == course.id, Enrolment.role == CourseRole.INSTRUCTOR).one())


def test_an_answer_publishes_the_completion_only_when_the_instructor_chose_to_send_it(world: World,
                                                                                     db: Session) -> None:
    from assessments import events

    heard: list[events.PracticeProgressed] = []

    def listen(_session: Session, event: events.PracticeProgressed, _now: Any) -> None:
        heard.append(event)

    events.subscribe(events.PracticeProgressed)(listen)
    try:
        teacher, ada, _, course, quiet = _classroom(world)  # the quiz's practice: send_completion is off
        api = world.client
        assert api is not None
        sending = api.post(f"/api/v1/courses/{course.slug}/practices", headers=world.headers(teacher),
                           json={"title": "Sent", "concepts": ["dpo"], "send_completion": True}).json()["id"]
        for practice in (quiet, sending):
            question = _next(world, ada, practice)
            api.post(f"/api/v1/practices/{practice}/questions/{question['id']}/answer", headers=world.headers(ada),
                     json={"response": _right(db, question["id"])})
        mastery = api.get(f"/api/v1/practices/{sending}/mastery", headers=world.headers(ada)).json()
        assert [(e.practice_id, e.user_id, e.completion) for e in heard] == [(sending, ada.id, mastery["completion"])]
    finally:
        events._listeners[events.PracticeProgressed].remove(listen)


def test_the_practice_pool_places_each_uncalibrated_item_by_its_bloom_tag(world: World, db: Session) -> None:
    """No 2PL fit is stored for any item yet: the pool gives each its Bloom level's prior difficulty
    (from the item's ``bloom`` tag in the database) and discrimination 1."""
    from assessments.practice.service import pool_of
    from engine.adaptive import prior_difficulty

    _, _, _, _, practice_id = _classroom(world)
    practice = db.get(Practice, practice_id)
    assert practice is not None
    pool = pool_of(db, world.client.app.state.settings.content_dir, practice).pool  # type: ignore[union-attr]
    placed = {key: (float(pool.difficulty[n]), float(pool.discrimination[n]), bool(pool.calibrated[n]))
              for n, key in enumerate(pool.keys)}
    assert placed == {  # the bank files' bloom tags: Evaluate, Analysis, Apply, Apply
        "evaluating-reward-model-score-outputs": (prior_difficulty("Evaluate"), 1.0, False),
        "ranking-loss-which-pair-is-penalised": (prior_difficulty("Analysis"), 1.0, False),
        "bradley-terry-preference-probability": (prior_difficulty("Apply"), 1.0, False),
        "dpo-loss-value": (prior_difficulty("Apply"), 1.0, False),
    }
    assert prior_difficulty("Evaluate") == 1.25 and prior_difficulty("Analysis") == 0.75
