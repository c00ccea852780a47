"""The pages of a quiz's life: the builder's refusals at their fields in the form's words, dates
in the instructor's time zone, edit mode within what attempts allow, the results page's actions,
the questions and accommodations pages, and a student's start page for a draft and with extra time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from assessments.models import Quiz, QuizStatus
from assessments.quizzes.service import settings_of
from assessments.web.security import CSRF_FIELD
from tests.assessments.test_authorization import session_cookie
from tests.assessments.test_quiz_settings import CSRF, Staffroom, builder_form
from tests.assessments.test_quiz_settings import room as room  # noqa: PLC0414 - the fixture
from tests.assessments.test_walkthroughs import ok


def post(room: Staffroom, url: str, **fields: Any) -> Any:
    assert room.world.client is not None
    return room.world.client.post(url, data={CSRF_FIELD: CSRF, **fields}, follow_redirects=False)


def summary(html: str) -> list[tuple[str, str]]:
    """The error summary's links: (the field's id, the message)."""
    return re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', html)


def newest(room: Staffroom) -> Quiz:
    found = room.world.db.scalars(select(Quiz).order_by(Quiz.id.desc())).first()
    assert found is not None
    return found


def test_the_builder_makes_a_draft_with_dates_in_the_instructors_time_zone(room: Staffroom) -> None:
    reply = room.builder(builder_form(tz="Europe/London", open_at="2026-12-01T09:00", close_at="2027-07-01T17:30",
                                      **{"section-0-items": "single", "section-1-items": "tf"}))
    assert reply.status_code == 303, reply.text[:3000]
    quiz = newest(room)
    assert quiz.status == QuizStatus.DRAFT
    settings = settings_of(quiz)
    # 09:00 in London in December is 09:00 UTC; 17:30 in July is 16:30 UTC (summer time)
    assert settings.open_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert settings.close_at == datetime(2027, 7, 1, 16, 30, tzinfo=UTC)
    assert reply.headers["location"] == f"/quizzes/{quiz.id}"


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"section-1-tags": "chapter:Ch.4 Alignment", "section-1-count": "0"}, "section-1-count",
     "Section 2: enter how many items to draw, from 1 to 200"),
    ({"section-1-tags": "chapter:Ch.4 Alignment", "section-1-count": "50"}, "section-1-tags",
     "Section 2: draws 50 items but only"),
    ({"section-2-items": "no-such-item"}, "section-2-items",
     "Section 3: no item 'no-such-item' in the banks this course may use"),
    ({"title": ""}, "title", "Title: String should have at least 1 character"),
    ({"open_at": "tomorrow 9am"}, "open_at", "Opens: Enter a date and time such as 2026-12-01 09:00"),
    ({"tz": "Mars/Olympus", "open_at": "2026-12-01T09:00"}, "tz", "is not a time zone"),
    ({"open_at": "2026-12-02T09:00", "close_at": "2026-12-01T09:00"}, "open_at",
     "Dates: the closing time must be after the opening time"),
    ({"time_limit_minutes": "0"}, "time_limit_minutes", "Time limit: Input should be greater than or equal to 1"),
    ({"time_limit_minutes": "ten"}, "time_limit_minutes", "Time limit: enter a whole number"),
    ({"section-1-mark": "-1", "section-1-items": "tf"}, "section-1-mark", "Section 2: Input should be greater than 0"),
])
def test_the_builder_says_each_problem_at_its_field_in_the_forms_words(room: Staffroom, fields: dict[str, str],
                                                                       field: str, words: str) -> None:
    before = room.quizzes()
    reply = room.builder(builder_form(**fields))
    assert reply.status_code == 400, reply.text[:2000]
    links = summary(reply.text)
    assert [f for f, _ in links] == [field], links
    assert words in links[0][1].replace("&#39;", "'")
    assert f'id="{field}-error"' in reply.text
    assert "Invalid isoformat" not in reply.text and "sections.1" not in reply.text
    assert room.quizzes() == before


def test_edit_mode_changes_dates_after_attempts_and_refuses_the_sections_in_words(room: Staffroom) -> None:
    quiz = room.world.quiz(room.course, ["single"], time_limit_minutes=20)
    api = room.world.client
    assert api is not None
    page = api.get(f"/quizzes/{quiz.id}/edit")
    assert page.status_code == 200
    assert re.search(r'name="section-0-items"[^>]*>single</textarea>', page.text)
    ok(api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=room.student), 201)
    form = builder_form(title="Renamed", time_limit_minutes="30", attempts_allowed="1")
    assert post(room, f"/quizzes/{quiz.id}/edit", **form).status_code == 303
    room.world.db.refresh(quiz)
    assert (quiz.title, settings_of(quiz).time_limit_minutes) == ("Renamed", 30)
    refused = post(room, f"/quizzes/{quiz.id}/edit", **builder_form(**{"section-0-items": "single\ntf"}))
    assert refused.status_code == 400
    assert "Students have made 1 attempt(s) at this quiz" in refused.text
    assert "the sections (items, marks, draws)" in refused.text
    room.world.db.refresh(quiz)
    assert quiz.sections == [{"items": ["single"]}]


def test_the_results_page_publishes_schedules_and_archives(room: Staffroom) -> None:
    quiz = room.world.quiz(room.course, ["single"])
    quiz.status = QuizStatus.DRAFT
    room.world.db.flush()
    api = room.world.client
    assert api is not None
    manage = api.get(f"/quizzes/{quiz.id}/manage").text
    assert "This quiz is draft" in manage and "Publish now" in manage and "Schedule publication" in manage
    reply = post(room, f"/quizzes/{quiz.id}/status", status="draft", publish_at="2026-11-02T11:00", tz="Europe/Paris")
    assert reply.status_code == 303
    room.world.db.refresh(quiz)
    assert (quiz.status, quiz.publish_at) == (QuizStatus.DRAFT, datetime(2026, 11, 2, 10, 0, tzinfo=UTC))
    assert post(room, f"/quizzes/{quiz.id}/status", status="published").status_code == 303
    room.world.db.refresh(quiz)
    assert (quiz.status, quiz.publish_at) == (QuizStatus.PUBLISHED, None)
    assert post(room, f"/quizzes/{quiz.id}/status", status="frozen").status_code == 400


def test_a_student_sees_not_open_yet_on_a_draft_and_their_own_time_limit(room: Staffroom) -> None:
    quiz = room.world.quiz(room.course, ["single"], time_limit_minutes=40)
    quiz.status = QuizStatus.DRAFT
    room.world.db.flush()
    api = room.world.client
    assert api is not None
    student = session_cookie(api.app.state.settings, user_id=_user_id(room, "ada"), csrf=CSRF)  # type: ignore[attr-defined]
    page = api.get(f"/quizzes/{quiz.id}", headers=student)
    assert page.status_code == 200
    assert "This quiz is not open yet" in page.text and "Start an attempt" not in page.text
    quiz.status = QuizStatus.PUBLISHED
    room.world.db.flush()
    added = post(room, f"/quizzes/{quiz.id}/overrides", who="user:ada", time_multiplier="1.5", tz="UTC")
    assert added.status_code == 303, added.text[:2000]
    page = api.get(f"/quizzes/{quiz.id}", headers=student)
    assert re.search(r"<dt>Your time limit</dt><dd>60 minutes</dd>", page.text), page.text


def _user_id(room: Staffroom, username: str) -> int:
    from assessments.models import User

    user = room.world.db.scalars(select(User).where(User.username == username)).one()
    return user.id


def test_the_accommodations_page_says_a_bad_override_at_its_field(room: Staffroom) -> None:
    quiz = room.world.quiz(room.course, ["single"], time_limit_minutes=40)
    reply = post(room, f"/quizzes/{quiz.id}/overrides", who="user:ada", time_multiplier="lots", tz="UTC")
    assert reply.status_code == 400
    assert summary(reply.text) == [("time_multiplier", "Time multiplier: enter a number such as 1.5")]
    reply = post(room, f"/quizzes/{quiz.id}/overrides", who="user:ada", tz="UTC")
    assert reply.status_code == 400
    assert "an override changes at least one of" in reply.text
    made = post(room, f"/quizzes/{quiz.id}/groups", group_name="extra-time", members="ada")
    assert made.status_code == 303
    assert post(room, f"/quizzes/{quiz.id}/overrides", who="group:extra-time", attempts_allowed="unlimited",
                tz="UTC").status_code == 303
    api = room.world.client
    assert api is not None
    page = api.get(f"/quizzes/{quiz.id}/overrides").text
    assert re.search(r"<td>group extra-time</td>.*?<td>unlimited</td>", page, re.DOTALL)


def test_the_questions_page_lists_each_slot_and_a_draws_matching_items(room: Staffroom) -> None:
    reply = room.builder(builder_form(**{"section-1-tags": "chapter:Ch.4 Alignment", "section-1-count": "2",
                                         "section-1-mark": "2"}))
    assert reply.status_code == 303, reply.text[:2000]
    quiz = newest(room)
    api = room.world.client
    assert api is not None
    page = api.get(f"/quizzes/{quiz.id}/questions").text
    assert "Section 1" in page and '<a href="/bank/single">single</a>' in page
    match = re.search(r"<strong>(\d+)</strong> items? match", page)
    assert match is not None and int(match.group(1)) >= 2
    assert "2 at random from the items tagged chapter:Ch.4 Alignment, 2 marks each" in page


def test_delete_asks_first_and_says_whether_it_deletes_or_archives(room: Staffroom) -> None:
    quiz = room.world.quiz(room.course, ["single"])
    api = room.world.client
    assert api is not None
    asked = api.get(f"/quizzes/{quiz.id}/delete").text
    assert "No student has attempted it: it will be deleted" in asked and "Delete the quiz</button>" in asked
    ok(api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=room.student), 201)
    asked = api.get(f"/quizzes/{quiz.id}/delete").text
    assert "Students have made 1 attempt at this quiz" in asked and "Archive the quiz</button>" in asked
    reply = post(room, f"/quizzes/{quiz.id}/delete")
    assert reply.status_code == 303 and "archived" in reply.headers["location"]
    room.world.db.refresh(quiz)
    assert quiz.status == QuizStatus.ARCHIVED


def test_the_quiz_page_lists_its_attempts_a_page_at_a_time(room: Staffroom) -> None:
    """A quiz of a large course lists its attempts 50 at a time, with the count and the next page
    (it once rendered every attempt: half a megabyte for 2,000 students)."""
    from assessments.models import Attempt, AttemptState

    world = room.world
    quiz = world.quiz(room.course, ["single"])
    students = [world.user(f"s{n:03d}") for n in range(60)]
    for n, student in enumerate(students):
        world.db.add(Attempt(quiz_id=quiz.id, user_id=student.id, number=1, state=AttemptState.FINISHED,
                             started_at=datetime(2026, 11, 2, 9, tzinfo=UTC),
                             finished_at=datetime(2026, 11, 2, 10, tzinfo=UTC),
                             marks=float(n % 2), max_marks=1.0))
    world.db.flush()
    api = world.client
    assert api is not None
    def shown(url: str) -> str:
        reply = api.get(url)
        assert reply.status_code == 200, reply.text
        return reply.text

    first = shown(f"/quizzes/{quiz.id}/manage")
    assert "Attempts 1–50 of 60" in first
    assert re.findall(r"s\d{3}</small>", first) == [f"s{n:03d}</small>" for n in range(50)]
    assert f'href="/quizzes/{quiz.id}/manage?offset=50">Next page' in first
    second = shown(f"/quizzes/{quiz.id}/manage?offset=50")
    assert "Attempts 51–60 of 60" in second and "Next page" not in second
    assert re.findall(r"s\d{3}</small>", second) == [f"s{n:03d}</small>" for n in range(50, 60)]
    assert "Attempts 1–50 of 60" in shown(f"/quizzes/{quiz.id}/manage?offset=nonsense")
