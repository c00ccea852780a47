"""What a student may see of an attempt, and when: the review policy applied question by question.

Nothing is added to a view unless the policy allows it at this moment: correctness, marks,
feedback (with the worked solution) and the right answer are separate switches, for four
moments (during the attempt, right after it, later while the quiz is open, after it closes).
While an attempt is in progress a question's feedback also needs its behaviour's leave (an
interactive try that has been checked), and a graded state is shown only with correctness.
Instructors of the course see everything.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from assessments.attempts.repository import Asked
from assessments.attempts.schemas import AttemptView, QuestionView
from assessments.attempts.service import engine_attempts, read_as_of, reply_state, totals
from assessments.bank.service import rendered_question
from assessments.models import Attempt, AttemptState, Quiz
from assessments.quizzes import rules
from assessments.quizzes.schemas import QuizSettings, ReviewOptions
from assessments.quizzes.service import settings_of
from engine.attempts import QuestionAttempt as EngineAttempt
from engine.qtypes import Verdict
from engine.states import QuestionState
from engine.texts import render

IMMEDIATELY = timedelta(minutes=2)
CHECKING = ("immediatefeedback", "interactive")
MANUALLY_GRADED = "manualgraded"
"""The behaviours whose questions a student checks one at a time during the attempt."""
EVERYTHING = ReviewOptions(correctness=True, marks=True, feedback=True, right_answer=True)


def moment(attempt: Attempt, settings: QuizSettings, now: datetime, *, closed: bool | None = None) -> str:
    """The review moment of the attempt now. ``closed`` says whether the quiz has closed for the
    attempt's student (their overrides and the quiz's status:
    :meth:`assessments.quizzes.rules.Applied.closed`); left out, the quiz's own date decides."""
    if attempt.state == AttemptState.IN_PROGRESS:
        return "during"
    assert attempt.finished_at is not None
    if now - attempt.finished_at <= IMMEDIATELY:
        return "immediately_after"
    if closed is None:
        closed = settings.close_at is not None and now >= settings.close_at
    return "after_close" if closed else "later_while_open"


def moment_for(session: Session, attempt: Attempt, quiz: Quiz, now: datetime) -> str:
    """The review moment of the attempt now, as what applies to its student decides."""
    if attempt.state == AttemptState.IN_PROGRESS:
        return "during"  # whatever applies (the same as moment() says, without asking for it)
    closed = rules.applied(session, quiz, attempt.user_id, now).closed(now)
    return moment(attempt, settings_of(quiz), now, closed=closed)


def _state(qa: EngineAttempt, options: ReviewOptions, graded_visible: bool) -> str:
    state = qa.state
    if state == QuestionState.NEEDSGRADING:
        return "needs_grading"
    if state.is_active():
        return reply_state(qa)
    if options.correctness and graded_visible and qa.fraction is not None:
        return {Verdict.RIGHT: "right", Verdict.PARTIAL: "partial", Verdict.WRONG: "wrong"}[
            Verdict.of(qa.fraction)]
    return "finished"


def question_view(row: Asked, qa: EngineAttempt, options: ReviewOptions, *,
                  during: bool) -> QuestionView:
    model, variant, qtype = qa.item, qa.variant, qa.qtype
    last = qa.last_step
    # During an attempt a grade shows only once the behaviour has revealed it to the student.
    graded_visible = not during or qa.behaviour.feedback_visible(last)
    view = QuestionView(
        slot=row.slot, seq=last.seq, state=_state(qa, options, graded_visible),
        question=rendered_question(variant), response=qa.response, max_mark=row.max_mark,
        error=last.error if last.state == QuestionState.INVALID else None, flagged=row.flagged,
        read_as=read_as_of(qa, qa.response),
    )
    if row.behaviour == "interactive" and qa.state.is_active():
        view.tries_left = qa.tries_left
    if during and row.behaviour in CHECKING:  # each only where it is true: what the student may do now
        view.can_try_again = True if view.state == "try_again" else None
        view.can_check = True if qa.state.is_active() and view.state != "try_again" else None
    grade = qa.latest_grade
    # A try waiting for "try again" has no fraction yet: it is judged by its grade, as Moodle shows it.
    judged = grade.fraction if grade is not None and view.state == "try_again" else qa.fraction
    if graded_visible and options.correctness and judged is not None:
        view.outcome = Verdict.of(judged)
    if graded_visible and options.marks and qa.mark is not None:
        view.mark = qa.mark
    overridden = row.behaviour != MANUALLY_GRADED and qa.pinned_by_hand is not None
    if overridden and (view.mark is not None or view.outcome is not None):
        view.set_by_teacher = True  # else "Your answer: 3.24 / Right answer: 3.24 — Partly correct" reads as a bug
    if graded_visible and options.feedback:
        view.feedback = list(grade.feedback) if grade is not None else []
        if qa.manual_comment:
            view.feedback.append(qa.manual_comment)
        if model.solution and not qa.state.is_active():
            view.solution = render(model.solution, variant.values)
    if options.right_answer and not qa.state.is_active() and model.type_name != "essay":
        view.right_answer = dict(qtype.shown_response(model, variant))
    return view


def attempt_view(session: Session, attempt: Attempt, quiz: Quiz, *, staff: bool, now: datetime,
                 questions: list[tuple[Asked, EngineAttempt]] | None = None) -> AttemptView:
    """The attempt as the caller may see it now; ``questions``, when the caller has just built
    them, saves reading them again."""
    settings = settings_of(quiz)
    when = "staff" if staff else moment_for(session, attempt, quiz, now)
    options = EVERYTHING if staff else getattr(settings.review, when)
    during = attempt.state == AttemptState.IN_PROGRESS and not staff
    if questions is None:
        questions = engine_attempts(session, attempt)
    views = [question_view(row, qa, options, during=during) for row, qa in questions]
    view = AttemptView(
        id=attempt.id, quiz_id=attempt.quiz_id, user_id=attempt.user_id, number=attempt.number,
        state=attempt.state.value, started_at=attempt.started_at, deadline_at=attempt.deadline_at,
        finished_at=attempt.finished_at, review=when, max_marks=attempt.max_marks, questions=views,
    )
    if attempt.state == AttemptState.FINISHED and options.marks:
        view.marks, view.needs_grading = totals(questions)
    return view
