"""Whole quizzes taken through the API, one session per behaviour, as the student lives them.

A :class:`Student` sits at the keyboard: starts (or resumes) an attempt, saves, checks, tries
again and submits, sending back each question's ``seq`` as the page would. Right answers are
worked out from what the student is shown (the numbers in the stem and the course's own
functions), never read from the server, so a walkthrough also shows that each student's key
follows their own variant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from assessments.attempts.service import sweep
from assessments.auth.tokens import issue_access_token
from assessments.config import Settings
from assessments.models import Course, CourseRole, Quiz, Role, User
from engine.functions import bradley_terry_prob, ranking_loss
from tests.assessments.conftest import T0, Clock, World

# --- working the questions out, as a student would ------------------------------------------------


def numbers(pattern: str, text: str) -> list[float]:
    found = re.search(pattern, text)
    assert found is not None, f"{pattern!r} not in {text!r}"
    return [float(g) for g in found.groups()]


def _ranking_loss_of_one_pair(question: dict[str, Any]) -> dict[str, Any]:
    r_w, r_l = numbers(r"r_w = (\S+), r_l = (\S+):", question["stem"])
    return {"answer": f"{float(ranking_loss(r_w, r_l)):.6g}"}


def _more_than_a_tie(question: dict[str, Any]) -> dict[str, Any]:
    r_w, r_l = numbers(r"r_w = (\S+), r_l = (\S+):", question["stem"])
    return {"answer": bool(ranking_loss(r_w, r_l) > math.log(2))}


def _lower_loss(question: dict[str, Any]) -> dict[str, Any]:
    a_w, a_l, b_w, b_l = numbers(r"A: (\S+)/(\S+); B: (\S+)/(\S+)$", question["stem"])
    winner = "Model A" if ranking_loss(a_w, a_l) < ranking_loss(b_w, b_l) else "Model B"
    return {"choice": next(o["id"] for o in question["options"] if o["text"] == winner)}


def _penalised_pairs(question: dict[str, Any]) -> dict[str, Any]:
    # A pair costs more than a tie exactly when the preferred response is scored lower.
    chosen = []
    for option in question["options"]:
        preferred, rejected = numbers(r"preferred (\S+), rejected (\S+)$", option["text"])
        if preferred < rejected:
            chosen.append(option["id"])
    return {"choices": chosen}


def _bradley_terry(question: dict[str, Any]) -> dict[str, Any]:
    return {"answer": f"{float(bradley_terry_prob(*bradley_terry_scores(question))):.6f}"}


def bradley_terry_scores(question: dict[str, Any]) -> tuple[float, float]:
    r_1, r_2 = numbers(r"y_1\) = (\S+)\$ and\s+\$r\(x, y_2\) = (\S+)\$", question["stem"])
    return r_1, r_2


SOLVERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "Ranking loss of one pair": _ranking_loss_of_one_pair,
    "More than a tie": _more_than_a_tie,
    "Which model has the lower loss": _lower_loss,
    "Which pairs are penalised": _penalised_pairs,
    "Bradley-Terry probability of a human label": _bradley_terry,
}


def work_out(question: dict[str, Any]) -> dict[str, Any]:
    """The right response to a rendered question, from what it shows."""
    return SOLVERS[question["title"]](question)


def swapped_ranking_loss(question: dict[str, Any]) -> dict[str, Any]:
    """The ``swapped`` misconception of the numeric item: the loss of the pair the wrong way round."""
    r_w, r_l = numbers(r"r_w = (\S+), r_l = (\S+):", question["stem"])
    return {"answer": f"{float(ranking_loss(r_l, r_w)):.6g}"}


# --- the student at the keyboard ------------------------------------------------------------------


class Student:
    """One student taking one quiz through the API, keeping each question's ``seq`` as a page does."""

    def __init__(self, world: World, user: User, quiz: Quiz, *, sign_in: bool = False) -> None:
        assert world.client is not None
        self.api: TestClient = world.client
        # Signing in through the API is slow by design (argon2): most sessions start with a token.
        self.headers = world.headers(user) if sign_in else token_for(self.api, user)
        self.quiz = quiz
        self.attempt_id: int | None = None
        self.seq: dict[int, int] = {}
        self.view: dict[str, Any] = {}

    def _see(self, view: dict[str, Any]) -> dict[str, Any]:
        self.attempt_id = view["id"]
        self.view = view
        self.seq = {q["slot"]: q["seq"] for q in view["questions"]}
        return view

    def start(self) -> Response:
        """Start the quiz, or resume the attempt in progress."""
        reply = self.api.post(f"/api/v1/quizzes/{self.quiz.id}/attempts", headers=self.headers)
        if reply.status_code in (200, 201):
            self._see(reply.json())
        return reply

    def look(self) -> dict[str, Any]:
        """Reload the attempt's page."""
        reply = self.api.get(f"/api/v1/attempts/{self.attempt_id}", headers=self.headers)
        assert reply.status_code == 200, reply.text
        return self._see(reply.json())

    def question(self, slot: int) -> dict[str, Any]:
        """The question as rendered on the page the student last saw."""
        shown: dict[str, Any] = self.view["questions"][slot - 1]["question"]
        return shown

    def slot(self, slot: int) -> dict[str, Any]:
        """Everything the page last showed about one slot (state, mark, feedback...)."""
        self.look()
        shown: dict[str, Any] = self.view["questions"][slot - 1]
        return shown

    def _act(self, method: str, path: str, slot: int, body: dict[str, Any]) -> Response:
        reply = self.api.request(method, f"/api/v1/attempts/{self.attempt_id}/{path}", headers=self.headers,
                                 json=body)
        if reply.status_code == 200:
            self.seq[slot] = reply.json()["seq"]
        return reply

    def save(self, slot: int, response: dict[str, Any], *, seq: int | None = None) -> Response:
        body = {"response": response, "seq": self.seq[slot] if seq is None else seq}
        return self._act("PUT", f"responses/{slot}", slot, body)

    def check(self, slot: int, response: dict[str, Any]) -> Response:
        return self._act("POST", f"slots/{slot}/check", slot, {"response": response, "seq": self.seq[slot]})

    def try_again(self, slot: int) -> Response:
        return self._act("POST", f"slots/{slot}/try-again", slot, {"seq": self.seq[slot]})

    def submit(self) -> Response:
        return self.api.post(f"/api/v1/attempts/{self.attempt_id}/submit", headers=self.headers)


def token_for(api: TestClient, user: User) -> dict[str, str]:
    """The bearer token that signing in would give ``user`` (valid for a day from T0)."""
    secret = api.app.state.settings.resolved_secret_key  # type: ignore[attr-defined]
    return {"authorization": f"Bearer {issue_access_token(user.id, secret, T0, 24 * 60)[0]}"}


def ok(reply: Response, status: int = 200) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()
    return body


def refused(reply: Response, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.json()["error"]["code"] == code


NEVER_DURING = ('"right_answer"', '"fraction"', '"outcome"', '"feedback"', '"solution"', '"mark"')
"""Keys a deferred-feedback page never carries while the attempt is in progress."""


def class_of(world: World, *students: str) -> tuple[User, list[User], Course]:
    teacher = world.user("teacher", Role.INSTRUCTOR)
    people = [world.user(name) for name in students]
    course = world.course("llms", (teacher, CourseRole.INSTRUCTOR),
                          *((p, CourseRole.STUDENT) for p in people))
    return teacher, people, course


# --- deferred feedback ------------------------------------------------------------------------------


def test_deferred_feedback_save_change_submit_review(world: World) -> None:
    _, (ada,), course = class_of(world, "ada")
    quiz = world.quiz(course, ["numeric", "tf", "single"])
    me = Student(world, ada, quiz, sign_in=True)

    page = ok(me.start(), 201)
    assert [q["state"] for q in page["questions"]] == ["not_answered"] * 3
    assert page["review"] == "during" and "deadline_at" not in page

    # A first guess, then she changes her mind: each kept save is a new step.
    assert ok(me.save(1, {"answer": "99"})) == {"seq": 1, "saved": True, "state": "answered"}
    right = work_out(me.question(1))
    assert ok(me.save(1, right)) == {"seq": 2, "saved": True, "state": "answered"}
    # Autosave sends the same answer again: no new step.
    assert ok(me.save(1, right)) == {"seq": 2, "saved": False, "state": "answered"}
    # A second tab still thinks the question is at step 1: refused, told the current step.
    stale = me.save(1, {"answer": "0.5"}, seq=1)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_seq" and stale.json()["error"]["details"] == {"seq": 2}

    # A typo is saved, flagged as invalid (not graded), and then fixed.
    assert ok(me.save(2, {"answer": "maybe"}))["state"] == "invalid"
    assert me.slot(2)["error"] == "answer true or false"
    assert ok(me.save(2, work_out(me.question(2))))["state"] == "answered"

    # Deferred feedback: nothing about right or wrong while the attempt is open.
    during = me.api.get(f"/api/v1/attempts/{me.attempt_id}", headers=me.headers)
    assert [q["state"] for q in during.json()["questions"]] == ["answered", "answered", "not_answered"]
    assert not any(key in during.text for key in NEVER_DURING)
    refused(me.check(1, right), 400, "no_check")

    # She submits with the third question unanswered; submitting twice answers the same.
    submitted = ok(me.submit())
    assert submitted["state"] == "finished" and submitted["marks"] == 2.0 and submitted["max_marks"] == 3.0
    assert ok(me.submit()) == submitted
    refused(me.save(3, {"choice": 0}), 409, "attempt_finished")

    review = me.look()
    assert review["review"] == "immediately_after" and review["marks"] == 2.0
    assert [(q["state"], q["mark"]) for q in review["questions"]] == [("right", 1.0), ("right", 1.0),
                                                                     ("wrong", 0.0)]
    assert review["questions"][0]["response"] == right
    assert review["questions"][2]["right_answer"] == work_out(me.question(3))


# --- immediate feedback -----------------------------------------------------------------------------


def test_immediate_feedback_grades_each_check_at_once(world: World) -> None:
    _, (ada,), course = class_of(world, "ada")
    quiz = world.quiz(course, ["numeric", "tf"], behaviour="immediatefeedback")
    me = Student(world, ada, quiz)
    ok(me.start(), 201)

    # She checks a wrong answer: graded at once, with the feedback for her mistake.
    wrong = swapped_ranking_loss(me.question(1))
    assert ok(me.check(1, wrong)) == {"seq": 1, "saved": True, "state": "finished"}
    first = me.slot(1)
    assert (first["state"], first["outcome"], first["mark"]) == ("wrong", "wrong", 0.0)
    assert first["feedback"] == ["swapped"]
    assert "right_answer" not in first, "the default policy shows the right answer only after the attempt"
    # One check per question: the same answer again changes nothing; another is refused.
    assert ok(me.check(1, wrong))["saved"] is False
    refused(me.check(1, work_out(me.question(1))), 409, "action_refused")
    refused(me.save(1, work_out(me.question(1))), 409, "action_refused")

    # A response without its type's key is malformed (nothing is recorded); checking an answer that
    # cannot be read costs nothing; then the right answer.
    refused(me.check(2, {}), 422, "malformed")
    assert ok(me.check(2, {"answer": "maybe"}))["state"] == "invalid"
    assert me.slot(2)["state"] == "invalid"
    assert ok(me.check(2, work_out(me.question(2))))["state"] == "finished"
    second = me.slot(2)
    assert (second["state"], second["mark"], second["feedback"]) == ("right", 1.0, [])

    assert ok(me.submit())["marks"] == 1.0
    key = me.look()["questions"][0]["right_answer"]["answer"]
    assert float(key) == pytest.approx(float(work_out(me.question(1))["answer"]), rel=5e-3)


def test_immediate_feedback_shows_during_only_what_the_policy_allows(world: World) -> None:
    _, (ada,), course = class_of(world, "ada")
    hidden = {"correctness": False, "marks": False, "feedback": False, "right_answer": False}
    quiz = world.quiz(course, ["numeric"], behaviour="immediatefeedback", review={"during": hidden})
    me = Student(world, ada, quiz)
    ok(me.start(), 201)
    assert ok(me.check(1, swapped_ranking_loss(me.question(1))))["state"] == "finished"
    page = me.api.get(f"/api/v1/attempts/{me.attempt_id}", headers=me.headers)
    assert page.json()["questions"][0]["state"] == "finished"
    assert not any(key in page.text for key in (*NEVER_DURING, '"wrong"', '"right"'))


# --- interactive with several tries -----------------------------------------------------------------


def test_interactive_wrong_then_right_earns_two_thirds(world: World) -> None:
    _, (ada,), course = class_of(world, "ada")
    quiz = world.quiz(course, ["numeric", "tf", "bradley-terry-preference-probability"],
                      behaviour="interactive", tries=3, penalty=1 / 3)
    me = Student(world, ada, quiz)
    page = ok(me.start(), 201)
    assert [q["tries_left"] for q in page["questions"]] == [3, 3, 3]

    # Try 1 is wrong: she sees the feedback and may try again.
    ok(me.check(1, {"answer": "99"}))
    after_one = me.slot(1)
    assert (after_one["state"], after_one["tries_left"], after_one["feedback"]) == ("try_again", 2, [])
    # The try's verdict shows (correctness is on during the attempt); a mark only once it is done.
    assert "mark" not in after_one and after_one["outcome"] == "wrong"
    # The graded try is read-only until she asks to try again.
    refused(me.save(1, {"answer": "1"}), 409, "action_refused")
    refused(me.check(1, {"answer": "1"}), 409, "action_refused")
    assert ok(me.try_again(1))["saved"] is True
    cleared = me.slot(1)
    assert (cleared["state"], cleared["tries_left"]) == ("not_answered", 2)
    assert "feedback" not in cleared

    # Try 2 is right: the question is over, worth 1 − 1/3 of its mark.
    ok(me.check(1, work_out(me.question(1))))
    done = me.slot(1)
    assert done["mark"] == pytest.approx(2 / 3)
    assert "tries_left" not in done
    refused(me.try_again(1), 409, "action_refused")

    # The same wrong answer twice uses one try, not two.
    wrong = {"answer": not work_out(me.question(2))["answer"]}
    ok(me.check(2, wrong))
    ok(me.try_again(2))
    assert ok(me.check(2, wrong))["saved"] is False
    assert me.slot(2)["tries_left"] == 2

    # Three different wrong answers: out of tries, the question is finished and worth nothing.
    for n, guess in enumerate(("0.001", "0.002", "0.003"), start=1):
        ok(me.check(3, {"answer": guess}))
        if n < 3:
            assert me.slot(3)["tries_left"] == 3 - n
            ok(me.try_again(3))
    out = me.slot(3)
    assert (out["state"], out["mark"]) == ("wrong", 0.0) and "tries_left" not in out

    # Submitting grades what is left: question 2's last try stands.
    submitted = ok(me.submit())
    assert submitted["marks"] == pytest.approx(2 / 3)
    assert [q["mark"] for q in me.look()["questions"]] == pytest.approx([2 / 3, 0.0, 0.0])


def test_interactive_check_reply_agrees_with_the_page(world: World) -> None:
    _, (ada,), course = class_of(world, "ada")
    quiz = world.quiz(course, ["numeric"], behaviour="interactive")
    me = Student(world, ada, quiz)
    ok(me.start(), 201)
    reply = ok(me.check(1, {"answer": "99"}))
    assert reply["state"] == me.slot(1)["state"] == "try_again"


# --- essays wait for a person -------------------------------------------------------------------------


def test_an_essay_waits_for_a_grader_and_the_attempt_has_no_marks_yet(world: World) -> None:
    teacher, (ada,), course = class_of(world, "ada")
    quiz = world.quiz(course, ["essay", "tf"])
    me = Student(world, ada, quiz)
    ok(me.start(), 201)
    assert "tries_left" not in me.view["questions"][0]
    ok(me.save(1, {"text": "The policy exploits flaws in the reward model; a KL penalty restrains it."}))
    ok(me.save(2, work_out(me.question(2))))

    submitted = ok(me.submit())
    assert "marks" not in submitted, "no total while an essay waits"
    review = me.look()
    assert review.get("marks") is None and review["needs_grading"] is True
    assert [q["state"] for q in review["questions"]] == ["needs_grading", "right"]
    assert "mark" not in review["questions"][0] and "right_answer" not in review["questions"][0]
    staff = ok(me.api.get(f"/api/v1/attempts/{me.attempt_id}", headers=world.headers(teacher)))
    assert staff.get("marks") is None and staff["needs_grading"] is True


# --- time limits ------------------------------------------------------------------------------------


def test_saves_are_refused_after_the_deadline_and_its_grace(world: World, clock: Clock,
                                                             settings: Settings) -> None:
    _, (ada,), course = class_of(world, "ada")
    quiz = world.quiz(course, ["numeric", "tf"], time_limit_minutes=10)
    me = Student(world, ada, quiz)
    page = ok(me.start(), 201)
    assert page["deadline_at"] == "2026-11-02T09:10:00Z"

    clock.advance(minutes=10, seconds=settings.grace_seconds)  # the network's grace: still accepted
    ok(me.save(1, work_out(me.question(1))))
    clock.advance(seconds=1)
    refused(me.save(2, work_out(me.question(2))), 409, "time_up")
    assert me.slot(2)["state"] == "not_answered"


def test_the_sweep_finishes_and_grades_overdue_attempts(world: World, db: Any, clock: Clock,
                                                        settings: Settings) -> None:
    _, (ada, ben), course = class_of(world, "ada", "ben")
    timed = world.quiz(course, ["numeric", "tf"], time_limit_minutes=10)
    ada_at_it = Student(world, ada, timed)
    ok(ada_at_it.start(), 201)
    ok(ada_at_it.save(1, work_out(ada_at_it.question(1))))
    clock.advance(minutes=5)
    ben_at_it = Student(world, ben, timed)  # started later: his deadline is later
    ok(ben_at_it.start(), 201)

    clock.advance(minutes=5, seconds=settings.grace_seconds)
    assert sweep(db, clock.now, settings.grace_seconds) == [], "within the grace, nobody is closed"
    clock.advance(seconds=1)
    assert sweep(db, clock.now, settings.grace_seconds) == [ada_at_it.attempt_id]
    db.commit()

    closed = ada_at_it.look()
    assert closed["state"] == "finished" and closed["finished_at"] == "2026-11-02T09:10:31Z"
    assert closed["marks"] == 1.0
    assert [q["state"] for q in closed["questions"]] == ["right", "wrong"]
    assert ben_at_it.look()["state"] == "in_progress"
    assert sweep(db, clock.now, settings.grace_seconds) == [], "a closed attempt is swept once"


# --- how many attempts, and when ----------------------------------------------------------------------


def test_one_attempt_allowed_resumes_then_refuses_a_second(world: World) -> None:
    _, (ada,), course = class_of(world, "ada")
    quiz = world.quiz(course, ["tf"], attempts_allowed=1)
    me = Student(world, ada, quiz)
    first = ok(me.start(), 201)
    ok(me.save(1, work_out(me.question(1))))
    # Coming back to the quiz resumes the attempt in progress, answers and all.
    resumed = ok(me.start(), 200)
    assert resumed["id"] == first["id"] and resumed["questions"][0]["state"] == "answered"
    ok(me.submit())
    refused(me.start(), 409, "no_attempts_left")


def test_a_second_attempt_when_two_are_allowed(world: World) -> None:
    _, (ada,), course = class_of(world, "ada")
    quiz = world.quiz(course, ["tf"], attempts_allowed=2)
    me = Student(world, ada, quiz)
    ok(me.start(), 201)
    ok(me.submit())
    second = ok(me.start(), 201)
    assert second["number"] == 2 and second["questions"][0]["state"] == "not_answered"
    ok(me.submit())
    refused(me.start(), 409, "no_attempts_left")


def test_students_cannot_start_a_quiz_before_it_opens_or_after_it_closes(world: World, clock: Clock) -> None:
    teacher, (ada, bea), course = class_of(world, "ada", "bea")
    opens, closes = T0.replace(minute=20), T0.replace(minute=50)
    quiz = world.quiz(course, ["tf"], open_at=opens, close_at=closes)
    me, late = Student(world, ada, quiz), Student(world, bea, quiz)
    assert [q["state"] for q in me.api.get("/api/v1/quizzes", headers=me.headers).json()] == ["not_open"]
    refused(me.start(), 403, "quiz_not_open")
    # Her instructor may try it out before it opens.
    ok(Student(world, teacher, quiz).start(), 201)

    clock.now = opens
    ok(me.start(), 201)
    assert me.view["deadline_at"] == "2026-11-02T09:50:00Z", "the close is her deadline"
    ok(me.submit())

    clock.now = closes
    refused(late.start(), 403, "quiz_closed")
    assert [q["state"] for q in me.api.get("/api/v1/quizzes", headers=me.headers).json()] == ["closed"]


# --- each student's own variant ----------------------------------------------------------------------


def test_each_student_gets_their_own_variant_and_keeps_it(world: World) -> None:
    _, (ada, ben), course = class_of(world, "ada", "ben")
    quiz = world.quiz(course, ["seed", "numeric", "single"])
    ada_at_it, ben_at_it = Student(world, ada, quiz), Student(world, ben, quiz)
    ada_sees = [q["question"] for q in ok(ada_at_it.start(), 201)["questions"]]
    ben_sees = [q["question"] for q in ok(ben_at_it.start(), 201)["questions"]]

    def pairs(question: dict[str, Any]) -> set[str]:
        return {o["text"] for o in question["options"]}

    assert [q["title"] for q in ada_sees] == [q["title"] for q in ben_sees]
    assert pairs(ada_sees[0]) != pairs(ben_sees[0]), "their own numbers"
    assert ada_sees != ben_sees

    # Coming back, each sees exactly what they saw before.
    assert [q["question"] for q in ok(ada_at_it.start(), 200)["questions"]] == ada_sees
    assert [q["question"] for q in ada_at_it.look()["questions"]] == ada_sees

    # And each one's own working is right for their own numbers.
    for someone in (ada_at_it, ben_at_it):
        for slot in (1, 2, 3):
            ok(someone.save(slot, work_out(someone.question(slot))))
        assert ok(someone.submit())["marks"] == 3.0
