"""What a student sees of an attempt, and when: the review policy, switch by switch, moment by moment.

For every review moment (during, immediately after, later while the quiz is open, after it
closes) and every switch (correctness, marks, feedback, right answer), the attempt's JSON holds
exactly what that switch allows and nothing else. The check is on the raw text too: a key that
is not allowed is not there under any name, and the numeric item's computed answer (to three
significant figures, or three decimals) appears nowhere before the policy shows it.

Each test turns on one switch at the moment under test and every switch at the other moments, so
a view taken at the wrong moment would show too much and fail.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from assessments.models import CourseRole, QuestionAttempt, Quiz, Role
from assessments.web.plots import ranking_pairs
from engine.content.loader import load_item_text
from engine.functions import bradley_terry_prob, ranking_loss, sigmoid
from engine.variants import generate
from tests.assessments.conftest import T0, Clock, World
from tests.assessments.test_authorization import session_cookie
from tests.assessments.test_walkthroughs import (
    Student,
    bradley_terry_scores,
    numbers,
    ok,
    swapped_ranking_loss,
    work_out,
)

MOMENTS = ("during", "immediately_after", "later_while_open", "after_close")
SWITCHES = ("correctness", "marks", "feedback", "right_answer")
CLOSE_AT = T0 + timedelta(minutes=30)
BRADLEY_TERRY = "bradley-terry-preference-probability"

BASE_KEYS = {"slot", "seq", "state", "question", "response", "max_mark", "flagged"}
"""What every question view holds, whatever the policy."""
SHOWN_BY = {"correctness": {"outcome"}, "marks": {"mark"}, "feedback": {"feedback", "solution"},
            "right_answer": {"right_answer"}}
"""The keys each switch adds to a finished question (``solution`` where the item has one)."""
GRADED_STATES = ('"right"', '"partial"', '"wrong"')


def policy(moment: str, *switches: str) -> dict[str, Any]:
    """``switches`` on at ``moment``; everything on at the other moments."""
    everything = dict.fromkeys(SWITCHES, True)
    return {m: ({s: s in switches for s in SWITCHES} if m == moment else everything) for m in MOMENTS}


def expected_keys(switches: tuple[str, ...], *, solution: bool) -> set[str]:
    keys = set(BASE_KEYS)
    for switch in switches:
        keys |= SHOWN_BY[switch]
    if not solution:
        keys.discard("solution")
    return keys


def assert_nothing_beyond(text: str, switches: tuple[str, ...]) -> None:
    """The raw reply names nothing the switches do not allow."""
    assert '"fraction"' not in text
    for switch, keys in SHOWN_BY.items():
        if switch not in switches:
            for key in keys:
                assert f'"{key}":' not in text, f"{key} without {switch}"
    if "correctness" not in switches:
        assert not any(state in text for state in GRADED_STATES)
    if "marks" not in switches:
        assert '"marks":' not in text and '"needs_grading":' not in text


def key_texts(value: float) -> set[str]:
    """The ways a page could print the numeric key: 3 significant figures, 3 and 4 decimals (with
    their trailing zeros: "0.8" would match the stem's own numbers, "0.800" would not)."""
    return {f"{value:#.3g}", f"{value:.3f}", f"{value:.4f}"}


# --- the scene ------------------------------------------------------------------------------------


class Class:
    """A course with an instructor and a student, and a quiz to give them."""

    def __init__(self, world: World, clock: Clock) -> None:
        self.world, self.clock = world, clock
        self.teacher = world.user("teacher", Role.INSTRUCTOR)
        self.ada = world.user("ada")
        self.course = world.course("llms", (self.teacher, CourseRole.INSTRUCTOR), (self.ada, CourseRole.STUDENT))

    def quiz(self, items: list[str], **settings: Any) -> Quiz:
        return self.world.quiz(self.course, items, **settings)

    def student(self, quiz: Quiz) -> Student:
        return Student(self.world, self.ada, quiz)

    def instructor(self, quiz: Quiz) -> Student:
        return Student(self.world, self.teacher, quiz)


@pytest.fixture
def klass(world: World, clock: Clock) -> Class:
    return Class(world, clock)


def own_score_answer(question: dict[str, Any]) -> dict[str, Any]:
    """The Bradley-Terry item's "only its own score" misconception: σ(r₁), whose feedback names the key."""
    r_1, _ = bradley_terry_scores(question)
    return {"answer": f"{float(sigmoid(r_1)):.4f}"}


def partly_right(question: dict[str, Any]) -> dict[str, Any]:
    """A partly right selection for the seed item: one of several penalised pairs; or, when only
    one pair is penalised, that one and one that is not (each wrong selection costs a share)."""
    right = work_out(question)["choices"]
    if len(right) > 1:
        return {"choices": right[:1]}
    wrong = next(o["id"] for o in question["options"] if o["id"] not in right)
    return {"choices": [*right, wrong]}


def review_at(moment: str, klass: Class, quiz: Quiz, me: Student) -> Any:
    """Submit, then wait until ``moment`` and look at the attempt."""
    ok(me.submit())
    if moment == "later_while_open":
        klass.clock.advance(minutes=2, seconds=1)
    elif moment == "after_close":
        klass.clock.now = CLOSE_AT
    reply = me.api.get(f"/api/v1/attempts/{me.attempt_id}", headers=me.headers)
    assert reply.status_code == 200 and reply.json()["review"] == moment
    return reply


# --- after the attempt ------------------------------------------------------------------------------

AFTER = ("immediately_after", "later_while_open", "after_close")
CASES = [(m, s) for m in AFTER for s in [(), *((one,) for one in SWITCHES), SWITCHES]]


@pytest.mark.parametrize(("moment", "switches"), CASES,
                         ids=[f"{m}-{'+'.join(s) or 'nothing'}" for m, s in CASES])
def test_after_the_attempt_the_view_holds_exactly_what_the_policy_allows(
        klass: Class, moment: str, switches: tuple[str, ...]) -> None:
    close = {"close_at": CLOSE_AT} if moment == "after_close" else {}
    quiz = klass.quiz([BRADLEY_TERRY, "seed"], review=policy(moment, *switches), **close)
    me = klass.student(quiz)
    ok(me.start(), 201)
    ok(me.save(1, own_score_answer(me.question(1))))
    ok(me.save(2, partly_right(me.question(2))))

    reply = review_at(moment, klass, quiz, me)
    view = reply.json()
    bradley, seed = view["questions"]
    assert set(bradley) == expected_keys(switches, solution=True)
    assert set(seed) == expected_keys(switches, solution=False)
    assert ("marks" in view) == ("needs_grading" in view) == ("marks" in switches)
    assert_nothing_beyond(reply.text, switches)
    if "correctness" in switches:
        assert [(q["state"], q["outcome"]) for q in (bradley, seed)] == [("wrong", "wrong"), ("partial", "partial")]
    else:
        assert [q["state"] for q in (bradley, seed)] == ["finished", "finished"]
    if "marks" in switches:
        assert bradley["mark"] == 0.0 and 0 < seed["mark"] < 1
        assert view["marks"] == pytest.approx(seed["mark"])
    if "feedback" in switches:
        assert len(bradley["feedback"]) == 1 and "ignores the competitor" in bradley["feedback"][0]
        assert "Bradley-Terry gives each response a strength" in bradley["solution"]
    if "right_answer" in switches:
        assert seed["right_answer"] == work_out(me.question(2))


@pytest.mark.parametrize("moment", AFTER)
@pytest.mark.parametrize("item", [BRADLEY_TERRY, "numeric"])
def test_the_numeric_key_is_nowhere_in_the_text_until_the_policy_shows_it(
        klass: Class, moment: str, item: str) -> None:
    close = {"close_at": CLOSE_AT} if moment == "after_close" else {}
    # Correctness and marks on: a wrong answer may be called wrong, but its key is not told.
    quiz = klass.quiz([item], review=policy(moment, "correctness", "marks"), **close)
    me = klass.student(quiz)
    started = me.start()
    question = me.question(1)
    if item == BRADLEY_TERRY:
        key = float(bradley_terry_prob(*bradley_terry_scores(question)))
        wrong = own_score_answer(question)
    else:
        r_w, r_l = numbers(r"r_w = (\S+), r_l = (\S+):", question["stem"])
        key, wrong = float(ranking_loss(r_w, r_l)), swapped_ranking_loss(question)
    ok(me.save(1, wrong))
    texts = [started.text, me.api.get(f"/api/v1/attempts/{me.attempt_id}", headers=me.headers).text]
    texts += [me.submit().text, review_at(moment, klass, quiz, me).text]
    for text in texts:
        assert not any(printed in text for printed in key_texts(key)), text

    # The instructor of the course sees it; and where the policy shows the right answer, so does she.
    staff = klass.instructor(quiz)
    shown = ok(staff.api.get(f"/api/v1/attempts/{me.attempt_id}", headers=staff.headers))
    assert float(shown["questions"][0]["right_answer"]["answer"]) == pytest.approx(key, rel=5e-3, abs=2e-3)


def test_where_the_policy_shows_feedback_it_may_name_the_key(klass: Class) -> None:
    """The other side of the test above: the misconception's feedback works the key out."""
    quiz = klass.quiz([BRADLEY_TERRY], review=policy("immediately_after", "feedback"))
    me = klass.student(quiz)
    ok(me.start(), 201)
    key = float(bradley_terry_prob(*bradley_terry_scores(me.question(1))))
    ok(me.save(1, own_score_answer(me.question(1))))
    reply = review_at("immediately_after", klass, quiz, me)
    assert f"{key:.3f}" in reply.json()["questions"][0]["feedback"][0]


def test_the_submit_reply_carries_marks_only_where_the_policy_shows_them(klass: Class) -> None:
    for switches in ((), ("marks",)):
        quiz = klass.quiz(["tf"], review=policy("immediately_after", *switches))
        me = klass.student(quiz)
        ok(me.start(), 201)
        ok(me.save(1, work_out(me.question(1))))
        reply = me.submit()
        assert ("marks" in reply.json()) == bool(switches)
        assert_nothing_beyond(reply.text, switches)


# --- during the attempt -------------------------------------------------------------------------------


def test_deferred_feedback_shows_nothing_during_the_attempt_whatever_the_policy(klass: Class) -> None:
    quiz = klass.quiz([BRADLEY_TERRY, "seed"], review=policy("during", *SWITCHES))
    me = klass.student(quiz)
    ok(me.start(), 201)
    ok(me.save(1, own_score_answer(me.question(1))))
    ok(me.save(2, work_out(me.question(2))))
    reply = me.api.get(f"/api/v1/attempts/{me.attempt_id}", headers=me.headers)
    assert [set(q) for q in reply.json()["questions"]] == [BASE_KEYS, BASE_KEYS]
    assert_nothing_beyond(reply.text, ())
    key = float(bradley_terry_prob(*bradley_terry_scores(me.question(1))))
    assert not any(printed in reply.text for printed in key_texts(key))


DURING_CASES = [(), *((one,) for one in SWITCHES), SWITCHES]


@pytest.mark.parametrize("switches", DURING_CASES, ids=["+".join(s) or "nothing" for s in DURING_CASES])
def test_immediate_feedback_shows_a_checked_question_as_during_allows(
        klass: Class, switches: tuple[str, ...]) -> None:
    quiz = klass.quiz([BRADLEY_TERRY, "seed"], behaviour="immediatefeedback", review=policy("during", *switches))
    me = klass.student(quiz)
    ok(me.start(), 201)
    check = me.check(1, own_score_answer(me.question(1)))
    assert ok(check)["state"] == "finished"
    assert_nothing_beyond(check.text, ())
    ok(me.save(2, work_out(me.question(2))))  # saved, not checked: nothing about it yet

    reply = me.api.get(f"/api/v1/attempts/{me.attempt_id}", headers=me.headers)
    checked, saved = reply.json()["questions"]
    assert reply.json()["review"] == "during"
    assert set(checked) == expected_keys(switches, solution=True)
    assert set(saved) == BASE_KEYS | {"can_check"} and saved["state"] == "answered"
    assert_nothing_beyond(reply.text, switches)
    if "feedback" not in switches and "right_answer" not in switches:
        key = float(bradley_terry_prob(*bradley_terry_scores(me.question(1))))
        assert not any(printed in reply.text for printed in key_texts(key))


@pytest.mark.parametrize("switches", [(), SWITCHES], ids=["nothing", "everything"])
def test_interactive_shows_a_graded_try_as_during_allows(klass: Class, switches: tuple[str, ...]) -> None:
    quiz = klass.quiz([BRADLEY_TERRY], behaviour="interactive", review=policy("during", *switches))
    me = klass.student(quiz)
    ok(me.start(), 201)
    ok(me.check(1, own_score_answer(me.question(1))))
    reply = me.api.get(f"/api/v1/attempts/{me.attempt_id}", headers=me.headers)
    waiting = reply.json()["questions"][0]
    # A try that is not right leaves the question open for another: the student must be told that.
    assert (waiting["state"], waiting["tries_left"]) == ("try_again", 2)
    shown = ({"feedback"} if "feedback" in switches else set()) | ({"outcome"} if "correctness" in switches else set())
    assert set(waiting) == BASE_KEYS | {"tries_left", "can_try_again"} | shown
    assert_nothing_beyond(reply.text, switches)

    ok(me.try_again(1))
    ok(me.check(1, work_out(me.question(1))))
    reply = me.api.get(f"/api/v1/attempts/{me.attempt_id}", headers=me.headers)
    assert set(reply.json()["questions"][0]) == expected_keys(switches, solution=True)
    assert_nothing_beyond(reply.text, switches)


# --- instructors ------------------------------------------------------------------------------------------


def test_the_instructor_of_the_course_sees_everything_whatever_the_policy(klass: Class) -> None:
    nothing = {m: dict.fromkeys(SWITCHES, False) for m in MOMENTS}
    quiz = klass.quiz([BRADLEY_TERRY, "seed"], behaviour="immediatefeedback", review=nothing)
    me, staff = klass.student(quiz), klass.instructor(quiz)
    ok(me.start(), 201)
    ok(me.check(1, own_score_answer(me.question(1))))
    ok(me.save(2, partly_right(me.question(2))))
    url = f"/api/v1/attempts/{me.attempt_id}"

    during = ok(staff.api.get(url, headers=staff.headers))
    assert during["review"] == "staff"
    assert set(during["questions"][0]) == expected_keys(SWITCHES, solution=True)
    assert not {"outcome", "mark", "right_answer"} & set(during["questions"][1]), "nothing is graded yet"

    ok(me.submit())
    after = ok(staff.api.get(url, headers=staff.headers))
    assert [set(q) for q in after["questions"]] == [expected_keys(SWITCHES, solution=True),
                                                    expected_keys(SWITCHES, solution=False)]
    assert after["marks"] == after["questions"][1]["mark"] and after["needs_grading"] is False
    mine = me.api.get(url, headers=me.headers)
    assert [set(q) for q in mine.json()["questions"]] == [BASE_KEYS, BASE_KEYS]
    assert_nothing_beyond(mine.text, ())


# --- the review page's ranking-loss plot ------------------------------------------------------------------

PLOT = re.compile(r'<figure class="plot-figure">(.*?)</figure>', re.DOTALL)
TITLE = re.compile(r"<title>(.*?)</title>")
PLOT_SEED = 7
"""An attempt seed whose seed item shows its options shuffled (so that numbering as shown and
numbering as authored differ)."""


def review_page(klass: Class, me: Student) -> str:
    """The student's review page, fetched with their signed session cookie."""
    api = me.api
    settings = api.app.state.settings  # type: ignore[attr-defined]
    api.cookies.set(*session_cookie(settings, user_id=klass.ada.id, csrf="plot")["cookie"].split("=", 1))
    page = api.get(f"/attempts/{me.attempt_id}/review")
    assert page.status_code == 200, page.text[:2000]
    return page.text


def shown_pairs(question: dict[str, Any]) -> dict[int, float]:
    """Each pair's Δ = r_w − r_l by its number as shown (its option's display position, from 1)."""
    pairs = {}
    for option in question["options"]:
        r_w, r_l = numbers(r"preferred (\S+), rejected (\S+)$", option["text"])
        pairs[option["id"] + 1] = r_w - r_l
    return pairs


def plotted_seed_item(klass: Class, monkeypatch: pytest.MonkeyPatch, *switches: str) -> tuple[str, dict[int, float]]:
    """The seed item (four pairs: which cost more than a tie?) answered partly right, then its
    review page's plot immediately after, with ``switches`` on; and the pairs as shown."""
    monkeypatch.setattr("assessments.attempts.service.secrets.randbits", lambda _bits: PLOT_SEED)
    quiz = klass.quiz(["seed"], review=policy("immediately_after", *switches))
    me = klass.student(quiz)
    ok(me.start(), 201)
    shown = klass.world.db.scalars(select(QuestionAttempt.variant).where(
        QuestionAttempt.attempt_id == me.attempt_id)).one()["order"]
    assert shown != sorted(shown), "the options are shown as authored: numbering them proves nothing"
    question = me.question(1)
    ok(me.save(1, partly_right(question)))
    ok(me.submit())
    page = review_page(klass, me)
    found = PLOT.search(page)
    assert found is not None, "the review shows no plot"
    return found.group(1), shown_pairs(question)


def test_with_feedback_alone_the_plot_shows_the_students_pairs_but_not_their_losses(
        klass: Class, monkeypatch: pytest.MonkeyPatch) -> None:
    plot, pairs = plotted_seed_item(klass, monkeypatch, "feedback")
    # Numbered as the options were shown, each at its Δ: the student's own numbers.
    assert TITLE.findall(plot) == [f"pair {n}: Δ = {f'{round(d, 4):g}'.replace('-', '−')}"
                                   for n, d in sorted(pairs.items())]
    losses = [float(ranking_loss(d, 0.0)) for d in pairs.values()]
    assert sorted(pairs) == [1, 2, 3, 4] and len(set(losses)) == 4
    # No pair is called penalised or fine, and no loss is printed (the key of "which pairs cost
    # more than a tie"; their mean would be a numeric item's key).
    assert "penalised" not in plot and "fine" not in plot and "loss =" not in plot
    printed = {float(x) for x in re.findall(r"\d+\.\d{3}\b", plot)}
    assert not printed & {round(loss, 3) for loss in losses}


def test_with_the_right_answer_the_plot_shows_each_pairs_loss_and_verdict_as_shown(
        klass: Class, monkeypatch: pytest.MonkeyPatch) -> None:
    plot, pairs = plotted_seed_item(klass, monkeypatch, "right_answer")
    expected = []
    for n, delta in sorted(pairs.items()):
        loss = float(ranking_loss(delta, 0.0))
        cost = "more than a tie" if loss > math.log(2) else "no more than a tie"
        expected.append(f"pair {n}: Δ = {f'{round(delta, 4):g}'.replace('-', '−')}, loss = {loss:.3f}, {cost}")
    assert TITLE.findall(plot) == expected
    verdicts = re.findall(r'<g class="pair (penalised|fine)">', plot)
    assert verdicts == ["penalised" if float(ranking_loss(d, 0.0)) > math.log(2) else "fine"
                        for _, d in sorted(pairs.items())]


def test_without_feedback_or_the_right_answer_the_review_has_no_plot(
        klass: Class, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("assessments.attempts.service.secrets.randbits", lambda _bits: PLOT_SEED)
    quiz = klass.quiz(["seed"], review=policy("immediately_after", "correctness", "marks"))
    me = klass.student(quiz)
    ok(me.start(), 201)
    ok(me.save(1, partly_right(me.question(1))))
    ok(me.submit())
    page = review_page(klass, me)
    assert "<svg" not in page and "plot-figure" not in page


MARGINS = """
id: margins
type: numeric
title: Margins
stem: "Pairs {{ r_w }} and {{ r_l }}; margin {{ m }}. What is the mean loss with the margin?"
params:
  r_w: {value: [1.0, -0.5, 2.0]}
  r_l: {value: [0.0, 0.5, 2.5]}
  m: {value: 1.0}
compute:
  with_margin: ranking_loss(r_w, r_l, margin=m)
  plain: ranking_loss(r_w, r_l)
  again: ranking_loss(r_w, r_l)
answer: mean(with_margin)
"""


def test_the_plot_draws_each_plain_pair_once_in_the_order_shown() -> None:
    item = load_item_text(MARGINS)
    pairs = ranking_pairs(generate(item, 0))
    # The margin's loss is another curve: only the plain call is drawn, and only once; with no
    # options, the pairs are numbered as the stem lists them.
    assert pairs is not None
    assert [(p.number, p.delta, p.penalised) for p in pairs] == [(1, 1.0, False), (2, -1.0, True), (3, -0.5, True)]
    margin_only = item.model_copy(update={"compute": {"with_margin": "ranking_loss(r_w, r_l, margin=m)"}})
    assert ranking_pairs(generate(margin_only, 0)) is None
