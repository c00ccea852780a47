"""The quiz builder's item picker, its draws' counts and marks per slot.

The picker finds the items a course may use with the bank page's filters (tags, concept, type,
text), as JSON for the builder's script and, without JavaScript, in the builder's own form posted
back with every value kept. A draw says how many items its tags match and is refused at its
section when it asks for more. An item's ``max_mark`` is what its slot is worth unless a mark is
given, on the builder and over REST alike.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from assessments.models import Quiz
from tests.assessments.test_quiz_life_pages import newest, post, summary
from tests.assessments.test_quiz_settings import Staffroom, builder_form
from tests.assessments.test_quiz_settings import room as room  # noqa: PLC0414 - the fixture
from tests.assessments.test_walkthroughs import ok

CHAPTER = "chapter:Ch.9 Picking"


def item(key: str, title: str, bloom: str, concept: str, max_mark: float | None = None) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "id": key, "type": "true_false", "title": title, "stem": f"{title}: is one more than none?",
        "answer": "1 > 0", "tags": {"chapter": "Ch.9 Picking", "bloom": bloom}, "concepts": [concept]}
    if max_mark is not None:
        definition["max_mark"] = max_mark
    return definition


@pytest.fixture
def picked(room: Staffroom) -> Staffroom:
    """Three items of the course's own bank in one chapter, worth 2, 3 and 1 marks; and one of
    another course's bank in that chapter too, which the course may not use."""
    api = room.world.client
    assert api is not None
    for body in (item("pick-a", "Picked first", "Recall", "picker-alpha", 2),
                 item("pick-b", "Picked second", "Analysis", "picker-beta", 3),
                 item("pick-c", "Picked third", "Recall", "picker-alpha")):
        ok(api.post("/api/v1/items", headers=room.teacher, json=body), 201)
    other = room.world.author("elsewhere")
    ok(api.post("/api/v1/items", headers=room.world.headers(other),
                json=item("pick-elsewhere", "Picked elsewhere", "Recall", "picker-alpha")), 201)
    return room


def found(room: Staffroom, **params: Any) -> dict[str, Any]:
    api = room.world.client
    assert api is not None
    reply = api.get("/courses/llms/quizzes/picker", params=params)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def keys(body: dict[str, Any]) -> list[str]:
    return [i["key"] for i in body["items"]]


# --- the picker's filters ---------------------------------------------------------------------------


def test_the_picker_finds_the_courses_items_by_each_of_the_banks_filters(picked: Staffroom) -> None:
    chapter = found(picked, tag=CHAPTER)
    assert (chapter["count"], keys(chapter)) == (3, ["pick-a", "pick-b", "pick-c"]), "not another course's item"
    assert [(i["title"], i["max_mark"], i["bloom"], i["concepts"], i["bank"]) for i in chapter["items"]] == [
        ("Picked first", 2.0, ["Recall"], ["picker-alpha"], "course:llms"),
        ("Picked second", 3.0, ["Analysis"], ["picker-beta"], "course:llms"),
        ("Picked third", 1.0, ["Recall"], ["picker-alpha"], "course:llms")]
    assert keys(found(picked, tag=[CHAPTER, "bloom:Recall"])) == ["pick-a", "pick-c"]
    assert keys(found(picked, tag=CHAPTER, concept="picker-beta")) == ["pick-b"]
    assert keys(found(picked, q="picked sec")) == ["pick-b"], "text in the title, in any case"
    assert keys(found(picked, q="pick-")) == ["pick-a", "pick-b", "pick-c"], "text in the key"
    assert keys(found(picked, tag=CHAPTER, type="true_false")) == ["pick-a", "pick-b", "pick-c"]
    assert found(picked, tag=CHAPTER, type="numeric") == {"count": 0, "items": [], "problem": None, "marks": None}
    counted = found(picked, tag=CHAPTER, limit=0, marks="true")
    assert (counted["count"], counted["items"], counted["marks"]) == (3, [], [1.0, 2.0, 3.0])
    assert found(picked, tag=[CHAPTER, "bloom:Analysis"], limit=0, marks="true")["marks"] == [3.0]
    # the library's items are the course's to use too, and the count is of all that match
    everything = found(picked, limit=2)
    assert everything["count"] > 8 and len(everything["items"]) == 2
    assert keys(found(picked, key=["pick-b", "no-such-item", "pick-elsewhere"])) == ["pick-b"]
    bad = found(picked, tag="chapter")
    assert bad["count"] == 0 and "“chapter” is not a tag query: write facet:value" in bad["problem"]


def test_the_picker_is_its_courses_instructors_only(picked: Staffroom) -> None:
    from tests.assessments.test_authorization import session_cookie

    api = picked.world.client
    assert api is not None
    settings = api.app.state.settings  # type: ignore[attr-defined]
    api.cookies.clear()
    api.cookies.set(*session_cookie(settings, user_id=_user_id(picked, "ada"), csrf="x")["cookie"].split("=", 1))
    assert api.get("/courses/llms/quizzes/picker", params={"tag": CHAPTER}).status_code == 403


def _user_id(room: Staffroom, username: str) -> int:
    from sqlalchemy import select

    from assessments.models import User

    return room.world.db.scalars(select(User.id).where(User.username == username)).one()


# --- the builder without JavaScript ----------------------------------------------------------------------


def test_the_builder_searches_adds_and_removes_without_javascript_keeping_the_form(picked: Staffroom) -> None:
    before = picked.quizzes()
    searched = picked.builder(builder_form(title="Picked quiz", action="search", **{
        "section-0-items": "", "pick-tag": CHAPTER, "pick-q": "picked"}))
    assert searched.status_code == 200, searched.text[:2000]
    text = searched.text
    assert re.findall(r'name="pick" value="([^"]+)"', text) == ["pick-a", "pick-b", "pick-c"]
    assert "<strong>3</strong> items match." in text
    assert 'name="title" required value="Picked quiz"' in text
    assert f'<option value="{CHAPTER}" selected>' in text and 'name="pick-q" type="search" value="picked"' in text
    assert picked.quizzes() == before, "a search saves nothing"

    adding: dict[str, Any] = builder_form(title="Picked quiz", action="add", **{
        "section-0-items": "", "pick-tag": CHAPTER, "pick-section": "1"})
    added = picked.builder(adding | {"pick": ["pick-a", "pick-b"]})  # two boxes ticked
    assert added.status_code == 200, added.text[:2000]
    text = added.text
    assert re.search(r'name="section-1-items"[^>]*>pick-a\npick-b</textarea>', text), text
    # each item's row shows its title and its own max mark as the slot's mark, to change or keep
    assert re.search(r'name="section-1-mark-pick-a"[^>]*value="2"', text)
    assert re.search(r'name="section-1-mark-pick-b"[^>]*value="3"', text)
    assert "Picked first" in text and 'value="remove-1-pick-a"' in text

    removed = picked.builder(builder_form(title="Picked quiz", action="remove-1-pick-a", **{
        "section-0-items": "", "section-1-items": "pick-a\npick-b", "section-1-mark-pick-a": "2",
        "section-1-mark-pick-b": "3"}))
    assert removed.status_code == 200
    assert re.search(r'name="section-1-items"[^>]*>pick-b</textarea>', removed.text)
    assert 'name="section-1-mark-pick-a"' not in removed.text
    assert picked.quizzes() == before

    made = picked.builder(builder_form(title="Picked quiz", **{
        "section-0-items": "pick-b\npick-a", "section-0-mark-pick-b": "3", "section-0-mark-pick-a": "2.5"}))
    assert made.status_code == 303, made.text[:3000]
    quiz = newest(picked)
    assert quiz.sections == [{"items": ["pick-b", "pick-a"], "mark": 3.0, "marks": {"pick-a": 2.5}}]


def test_a_draw_says_how_many_items_match_and_is_refused_at_its_section_when_too_few(picked: Staffroom) -> None:
    counted = picked.builder(builder_form(action="count", **{"section-1-tags": f"{CHAPTER}\nbloom:Recall"}))
    assert counted.status_code == 200
    assert re.search(r'id="section-1-matches"[^>]*><strong>2</strong> items match these tags, worth different marks '
                     r"\(1, 2\): give the marks per drawn question.</p>", counted.text)
    analysis = picked.builder(builder_form(action="count", **{"section-1-tags": f"{CHAPTER}\nbloom:Analysis"}))
    assert re.search(r"<strong>1</strong> item matches these tags, worth 3 marks each.</p>", analysis.text)
    assert "Type tag queries to see how many items match." in counted.text, "the other sections' draws"
    refused = picked.builder(builder_form(**{"section-1-tags": CHAPTER, "section-1-count": "50",
                                             "section-1-mark": "1"}))
    assert refused.status_code == 400
    assert summary(refused.text) == [("section-1-tags", "Section 2: draws 50 items but only 3 match")]
    assert re.search(r'id="section-1-matches"[^>]*><strong>3</strong> items match these tags, worth different '
                     r"marks \(1, 2, 3\)", refused.text)
    bad = picked.builder(builder_form(action="count", **{"section-2-tags": "bloom"}))
    assert "“bloom” is not a tag query: write facet:value" in bad.text


def test_a_slots_own_mark_is_refused_at_its_field_in_the_forms_words(picked: Staffroom) -> None:
    refused = picked.builder(builder_form(**{"section-0-items": "pick-a", "section-0-mark-pick-a": "0"}))
    assert refused.status_code == 400
    assert summary(refused.text) == [("section-0-mark-pick-a", "Section 1: Input should be greater than 0")]
    assert 'id="section-0-mark-pick-a-error"' in refused.text
    typed = picked.builder(builder_form(**{"section-0-items": "pick-a", "section-0-mark-pick-a": "two"}))
    assert summary(typed.text) == [("section-0-mark-pick-a",
                                    "Section 1: marks for pick-a: enter a number such as 1 or 2.5")]


# --- marks per slot -------------------------------------------------------------------------------------


def create(room: Staffroom, sections: list[dict[str, Any]]) -> Any:
    api = room.world.client
    assert api is not None
    return api.post("/api/v1/courses/llms/quizzes", headers=room.teacher,
                    json={"title": "Marked", "settings": {"attempts_allowed": None}, "sections": sections})


def test_an_items_max_mark_is_its_slots_mark_over_rest_unless_a_mark_is_given(picked: Staffroom) -> None:
    api = picked.world.client
    assert api is not None
    made = ok(create(picked, [{"items": ["pick-a", "pick-b", "tf"]}]), 201)
    assert (made["slots"], made["max_marks"]) == (3, 6.0)
    assert made["sections"][0] | {"marks": made["sections"][0]["marks"]} == {
        "title": None, "items": ["pick-a", "pick-b", "tf"], "draw": None, "mark": 2.0,
        "marks": {"pick-b": 3.0, "tf": 1.0}, "shuffle": False}
    attempt = ok(api.post(f"/api/v1/quizzes/{made['id']}/attempts", headers=picked.student), 201)
    assert [q["max_mark"] for q in attempt["questions"]] == [2.0, 3.0, 1.0]
    assert attempt["max_marks"] == 6.0

    given = ok(create(picked, [{"items": ["pick-a", "pick-b", "tf"], "mark": 1.5, "marks": {"pick-b": 4}}]), 201)
    assert given["max_marks"] == 7.0
    # a quiz of items worth 1 is stored as quizzes always were
    plain = ok(create(picked, [{"items": ["tf"]}]), 201)
    assert picked.world.db.get(Quiz, plain["id"]).sections == [{"items": ["tf"]}]  # type: ignore[union-attr]
    stray = create(picked, [{"items": ["tf"], "marks": {"pick-a": 2}}])
    assert stray.status_code == 422 and "marks names items the section does not list: pick-a" in stray.text


def test_a_draw_takes_the_max_mark_its_items_share_or_asks_for_one(picked: Staffroom) -> None:
    shared = ok(create(picked, [{"draw": {"tags": [CHAPTER, "bloom:Analysis"], "count": 1}}]), 201)
    assert (shared["sections"][0]["mark"], shared["max_marks"]) == (3.0, 3.0)
    mixed = create(picked, [{"items": ["tf"]}, {"draw": {"tags": [CHAPTER, "bloom:Recall"], "count": 1}}])
    assert mixed.status_code == 400, mixed.text
    assert mixed.json()["error"]["details"] == [{"path": ["sections", 1, "mark"], "message": (
        "the items that match are worth different marks (1, 2): give the marks per question")}]
    marked = ok(create(picked, [{"draw": {"tags": [CHAPTER, "bloom:Recall"], "count": 2}, "mark": 2.5}]), 201)
    assert marked["max_marks"] == 5.0
    # the builder says it at the section's mark, in its words
    page = picked.builder(builder_form(**{"section-1-tags": f"{CHAPTER}\nbloom:Recall", "section-1-count": "1"}))
    assert page.status_code == 400
    assert summary(page.text) == [("section-1-mark", ("Section 2: the items that match are worth different marks "
                                                      "(1, 2): give the marks per question"))]


def test_editing_a_quiz_shows_each_slots_mark_and_keeps_it_after_attempts(picked: Staffroom) -> None:
    api = picked.world.client
    assert api is not None
    made = ok(create(picked, [{"items": ["pick-a", "pick-b"]}]), 201)
    page = api.get(f"/quizzes/{made['id']}/edit").text
    assert re.search(r'name="section-0-mark-pick-a"[^>]*value="2"', page)
    assert re.search(r'name="section-0-mark-pick-b"[^>]*value="3"', page)
    ok(api.post(f"/api/v1/quizzes/{made['id']}/attempts", headers=picked.student), 201)
    # the same sections with a new title: not a change to the sections, so allowed after attempts
    same = post(picked, f"/quizzes/{made['id']}/edit", **builder_form(title="Renamed", **{
        "section-0-items": "pick-a\npick-b", "section-0-mark-pick-a": "2", "section-0-mark-pick-b": "3"}))
    assert same.status_code == 303, same.text[:3000]
    changed = post(picked, f"/quizzes/{made['id']}/edit", **builder_form(**{
        "section-0-items": "pick-a\npick-b", "section-0-mark-pick-a": "2", "section-0-mark-pick-b": "4"}))
    assert changed.status_code == 400 and "the sections (items, marks, draws)" in changed.text
    questions = api.get(f"/quizzes/{made['id']}/questions").text
    assert re.search(r"pick-b</a></td><td>1</td><td>3</td>", questions), questions


def test_a_course_can_not_pick_from_a_bank_it_may_not_use(picked: Staffroom) -> None:
    refused = picked.builder(builder_form(**{"section-0-items": "pick-elsewhere"}))
    assert refused.status_code == 400
    assert [(f, html.unescape(m)) for f, m in summary(refused.text)] == [
        ("section-0-items", "Section 1: no item 'pick-elsewhere' in the banks this course may use")]
    assert re.search(r"pick-elsewhere<br><small class=\"hint\">not in the banks this course may use", refused.text)


def test_the_bank_page_and_the_rest_search_filter_by_concept_too(picked: Staffroom) -> None:
    api = picked.world.client
    assert api is not None
    listed = api.get("/api/v1/items", headers=picked.teacher, params={"concept": "picker-alpha"})
    assert [i["key"] for i in listed.json()] == ["pick-a", "pick-c"]
    both = api.get("/api/v1/items", headers=picked.teacher, params={"concept": "picker-alpha", "q": "third"})
    assert [i["key"] for i in both.json()] == ["pick-c"]
    page = api.get("/bank", params={"concept": "picker-beta"}).text
    assert re.findall(r'<small class="hint">(pick-[a-z]+)</small>', page) == ["pick-b"]
    assert '<option value="picker-beta" selected>' in page
