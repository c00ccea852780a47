"""Writing items in the browser and over the API: the checker at its lines before anything is
saved, the preview of a posted item, saves as new versions with where they came from, templates
and copies, versions compared and chosen for a quiz, and imports reported before they happen."""

from __future__ import annotations

import math
import re
import textwrap

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from assessments.bank import authoring
from assessments.config import get_settings
from assessments.deps import Principal
from assessments.models import (
    BankGrant,
    CourseRole,
    Enrolment,
    ImportDraft,
    Item,
    ItemVersion,
    QuestionAttempt,
    QuizItem,
    User,
    VersionOrigin,
)
from tests.assessments.conftest import PASSWORD, SAMPLES, T0, Clock, World

ITEM = textwrap.dedent("""\
    # A numeric item, as an author writes it (this comment is kept).
    id: tie-loss
    type: numeric
    title: The loss of a tie
    stem: What is the ranking loss when the preferred response scores {{ r }} and the other 0?
    params:
      r: {uniform: [-2, 2], step: 0.1}
    answer: ranking_loss(r, 0)
    tolerance: {sigfigs: 3}
    """)
"""An item that checks clean."""


def principal_of(user: User) -> Principal:
    from assessments.auth.tokens import ALL_SCOPES
    from assessments.deps import Account

    return Principal(Account.of(user), ALL_SCOPES, "access")


@pytest.fixture
def author(world: World) -> User:
    return world.author("ada")


def test_a_broken_text_reports_each_problem_at_its_line_and_saves_nothing(world: World, author: User,
                                                                          clock: Clock) -> None:
    me = principal_of(author)
    broken = ITEM.replace("answer: ranking_loss(r, 0)", "answer: ranking_loss(r, q)")
    checked = authoring.check_text(world.db, me, broken)
    assert not checked.ok
    [problem] = checked.problems
    assert problem.line == 8 and "q" in problem.message
    checked, saved = authoring.save_text(world.db, me, broken, bank_slug=None, now=clock.now)
    assert saved is None and not checked.ok
    assert world.db.scalar(select(func.count(Item.id)).where(Item.key == "tie-loss")) == 0
    # YAML that does not parse: the line of the fault.
    unparsed = authoring.check_text(world.db, me, "id: x\ntype: numeric\n  title: [unclosed\n")
    assert unparsed.item is None and unparsed.problems[0].line in {2, 3}


def test_a_saved_text_is_a_new_version_that_keeps_its_authors_text(world: World, author: User,
                                                                   clock: Clock) -> None:
    me = principal_of(author)
    checked, saved = authoring.save_text(world.db, me, ITEM, bank_slug=None, now=clock.now, new=True)
    assert checked.ok and saved is not None and (saved.key, saved.version, saved.created) == ("tie-loss", 1, True)
    version = world.db.scalars(select(ItemVersion).join(Item).where(Item.key == "tie-loss")).one()
    assert version.origin == VersionOrigin.BROWSER and version.source is None and version.created_by_id == author.id
    assert version.source_text == ITEM and authoring.text_of(version).startswith("# A numeric item")
    # The same text again makes nothing; an edit makes version 2; a new item may not take the id.
    _, again = authoring.save_text(world.db, me, ITEM, bank_slug=None, now=clock.now, editing="tie-loss")
    assert again is not None and (again.version, again.created) == (1, False)
    edited = ITEM.replace("The loss of a tie", "The loss of a tie, again")
    _, second = authoring.save_text(world.db, me, edited, bank_slug=None, now=clock.now, editing="tie-loss")
    assert second is not None and (second.version, second.created) == (2, True)
    taken = authoring.check_text(world.db, me, ITEM, new=True)
    assert [(p.line, p.message) for p in taken.problems] == [
        (2, ("an item 'tie-loss' exists already (in the bank 'course:ada-course'): choose another id, or edit "
             "that item"))]
    renamed = authoring.check_text(world.db, me, ITEM.replace("id: tie-loss", "id: other"), editing="tie-loss")
    assert [p.line for p in renamed.problems] == [2] and "must stay 'tie-loss'" in renamed.problems[0].message


def test_warnings_are_shown_and_do_not_refuse_the_save(world: World, author: User, clock: Clock) -> None:
    """A key that is the same for every student is a warning (``--strict`` refuses it), not an error."""
    constant = ITEM.replace("answer: ranking_loss(r, 0)", "answer: ranking_loss(r, r)")
    checked, saved = authoring.save_text(world.db, principal_of(author), constant, bank_slug=None, now=clock.now)
    assert checked.ok and not checked.errors and saved is not None
    assert [w.line for w in checked.warnings] == [8, 8]
    assert "in 2000 of 2000 variants" in checked.warnings[0].message
    assert checked.out().problems[0].severity == "warning"


def test_an_id_of_a_bank_the_author_cannot_see_is_a_problem_at_the_id_line(world: World, author: User) -> None:
    other = world.author("bob")
    authoring.save_text(world.db, principal_of(other), ITEM, bank_slug=None, now=T0, new=True)
    checked = authoring.check_text(world.db, principal_of(author), ITEM)
    assert [(p.line, p.message) for p in checked.problems] == [
        (2, "an item 'tie-loss' exists in a bank you cannot see: choose another id")]


def test_a_preview_of_a_text_shows_the_variant_and_its_key(world: World, author: User) -> None:
    previewed = authoring.preview_text(world.db, principal_of(author), ITEM, seed=3)
    assert previewed.checked.ok and previewed.preview is not None
    assert previewed.preview.version is None and previewed.preview.seed == 3
    r = previewed.preview.params["r"]
    assert previewed.preview.question["stem"] == (f"What is the ranking loss when the preferred response scores {r} "
                                                  "and the other 0?")
    assert float(previewed.preview.key_response["answer"]) == pytest.approx(math.log1p(math.exp(-r)), rel=1e-3)


def test_every_question_type_has_a_template_that_checks_clean(world: World, author: User) -> None:
    found = authoring.templates(get_settings().content_dir)
    assert {t.type for t in found} >= {"single_choice", "multiple_response", "true_false", "numeric", "ordering",
                                       "matching", "short_text", "essay"}
    for template in found:
        checked = authoring.check_text(world.db, principal_of(author), template.text)
        assert checked.ok, (template.type, [str(p) for p in checked.problems])


def test_a_copy_keeps_the_text_under_a_new_id_and_title(world: World, author: User, clock: Clock) -> None:
    me = principal_of(author)
    authoring.save_text(world.db, me, ITEM, bank_slug=None, now=clock.now, new=True)
    copy = authoring.copy_text(world.db, me, "tie-loss")
    assert copy.splitlines()[0] == "# A numeric item, as an author writes it (this comment is kept)."
    assert "id: tie-loss-copy\n" in copy and "title: Copy of The loss of a tie\n" in copy
    assert authoring.check_text(world.db, me, copy, new=True).ok
    authoring.save_text(world.db, me, copy, bank_slug=None, now=clock.now, new=True)
    assert "id: tie-loss-copy1\n" in authoring.copy_text(world.db, me, "tie-loss")
    # A library item the author may read but not edit is theirs to copy.
    library_copy = authoring.copy_text(world.db, me, "numeric")
    assert re.search(r"^id: numeric-copy$", library_copy, re.MULTILINE)


def test_versions_say_who_made_them_from_where_and_which_quizzes_give_them(world: World, author: User,
                                                                           clock: Clock) -> None:
    me = principal_of(author)
    authoring.save_text(world.db, me, ITEM, bank_slug=None, now=clock.now, new=True)
    quiz = world.quiz(world.course_of(author), ["tie-loss"])
    clock.advance(minutes=5)
    authoring.save_text(world.db, me, ITEM.replace("{{ r }}", "{{ r:.1f }}"), bank_slug=None, now=clock.now,
                        editing="tie-loss")
    history = authoring.history(world.db, me, "tie-loss")
    assert [(v.number, v.origin, v.author) for v in history.versions] == [(1, "browser", "Ada"), (2, "browser", "Ada")]
    assert [(u.quiz_id, u.version) for u in history.versions[0].used_by] == [(quiz.id, 1)]
    assert history.versions[1].used_by == [] and history.current == 2 and history.can_edit
    lines = authoring.diff(world.db, me, "tie-loss", 1, 2)
    assert [(line.kind, line.old, line.new) for line in lines if line.kind != "same"] == [
        ("removed", 5, None), ("added", None, 5)]
    assert [line.text for line in lines if line.kind == "added"] == [
        "stem: What is the ranking loss when the preferred response scores {{ r:.1f }} and the other 0?"]
    # Another course's quiz that gives it is counted, not named, to this author.
    other = world.author("bob")
    world.db.add(BankGrant(bank_id=world.db.scalars(select(Item.bank_id).where(Item.key == "tie-loss")).one(),
                           course_id=world.course_of(other).id))
    world.db.flush()
    world.quiz(world.course_of(other), ["tie-loss"])
    assert authoring.history(world.db, me, "tie-loss").hidden_uses == 1


# --- the pages ---------------------------------------------------------------------------------------


def sign_in(api: TestClient, username: str) -> None:
    page = api.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    reply = api.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
                     follow_redirects=False)
    assert reply.status_code == 303, reply.text


def csrf(api: TestClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', api.get(path).text)
    assert found is not None
    return found.group(1)


def test_the_editor_checks_previews_and_saves_without_javascript(world: World, author: User) -> None:
    api = world.client
    assert api is not None
    sign_in(api, "ada")
    page = api.get("/bank/new?template=numeric")
    assert page.status_code == 200 and "id: example-ranking-loss-value" in page.text
    assert "style-src 'self' 'nonce-" in page.headers["content-security-policy"]
    token = csrf(api, "/bank/new")
    broken = ITEM.replace("tolerance: {sigfigs: 3}", "tolerance: {sigfigs: 3}\nbogus: 1")
    checked = api.post("/bank/new", data={"csrf_token": token, "text": broken, "action": "check", "seed": "0",
                                          "bank": "course:ada-course"})
    assert checked.status_code == 200
    assert "There is a problem" in checked.text and "Line 10: unknown field" in checked.text
    refused = api.post("/bank/new", data={"csrf_token": token, "text": broken, "action": "save", "seed": "0"},
                       follow_redirects=False)
    assert refused.status_code == 400 and "Line 10" in refused.text
    preview = api.post("/bank/new", data={"csrf_token": token, "text": ITEM, "action": "next", "seed": "4"})
    assert "The checker found no problem" in preview.text and "Seed 5:" in preview.text
    saved = api.post("/bank/new", data={"csrf_token": token, "text": ITEM, "action": "save", "seed": "0",
                                        "bank": "course:ada-course"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/bank/tie-loss?saved=1"
    item = api.get("/bank/tie-loss?saved=1")
    assert "Version 1 is saved" in item.text and 'href="/bank/tie-loss/edit"' in item.text
    edit = api.get("/bank/tie-loss/edit")
    assert "# A numeric item" in edit.text and "Save as version 2" in edit.text
    fragment = api.post("/bank/check", data={"csrf_token": token, "text": broken, "seed": "0", "editing": "tie-loss"})
    assert 'data-problem-lines="10"' in fragment.text and "<html" not in fragment.text


def test_use_a_version_in_a_quiz_without_attempts_and_with(world: World, author: User, clock: Clock) -> None:
    api = world.client
    assert api is not None
    me = principal_of(author)
    authoring.save_text(world.db, me, ITEM, bank_slug=None, now=clock.now, new=True)
    quiz = world.quiz(world.course_of(author), ["tie-loss"])
    authoring.save_text(world.db, me, ITEM.replace("a tie", "a draw"), bank_slug=None, now=clock.now,
                        editing="tie-loss")
    sign_in(api, "ada")
    token = csrf(api, "/bank/tie-loss/versions")
    page = api.get("/bank/tie-loss/versions")
    assert "Use version 2" in page.text and "title: The loss of a draw" in page.text
    used = api.post("/bank/tie-loss/versions/2/use", data={"csrf_token": token, "quiz_id": str(quiz.id)},
                    follow_redirects=False)
    assert used.status_code == 303 and used.headers["location"].startswith("/bank/tie-loss/versions?used=2")
    pinned = world.db.scalars(select(ItemVersion.number).join(QuizItem, QuizItem.item_version_id == ItemVersion.id)
                              .where(QuizItem.quiz_id == quiz.id)).one()
    assert pinned == 2
    # Once a student has taken it, going back to version 1 goes on to the regrade's dry run.
    student = world.user("cy")
    world.db.add(Enrolment(course_id=quiz.course_id, user_id=student.id, role=CourseRole.STUDENT))
    world.db.flush()
    assert api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=world.headers(student)).status_code == 201
    back = api.post("/bank/tie-loss/versions/1/use", data={"csrf_token": token, "quiz_id": str(quiz.id)},
                    follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == f"/quizzes/{quiz.id}/regrade"
    assert world.db.scalar(select(func.count(QuestionAttempt.id))) >= 1


GIFT_GOOD = b"::tie-gift:: A tie costs how much ranking loss (in nats)? {#0.693:0.001}\n"
GIFT_BAD = GIFT_GOOD + b"\n::broken:: Unclosed {=yes ~no\n"


def test_an_import_is_reported_before_anything_is_imported(world: World, author: User) -> None:
    api = world.client
    assert api is not None
    sign_in(api, "ada")
    token = csrf(api, "/bank/import")
    empty = api.post("/bank/import", data={"csrf_token": token, "format": "auto", "bank": "course:ada-course"})
    assert empty.status_code == 400 and "Choose a file to import" in empty.text
    bad = api.post("/bank/import", data={"csrf_token": token, "format": "auto", "bank": "course:ada-course"},
                   files={"file": ("quiz.gift", GIFT_BAD, "text/plain")}, follow_redirects=False)
    assert bad.status_code == 303
    report = api.get(bad.headers["location"])
    assert report.status_code == 400 and "The file cannot be imported" in report.text and "Line 3" in report.text
    assert world.db.scalar(select(func.count(Item.id)).where(Item.key.like("tie-gift%"))) == 0
    good = api.post("/bank/import", data={"csrf_token": token, "format": "gift", "bank": "course:ada-course"},
                    files={"file": ("quiz.gift", GIFT_GOOD, "text/plain")}, follow_redirects=False)
    report = api.get(good.headers["location"])
    assert report.status_code == 200 and "imported as a new item" in report.text and "Import these" in report.text
    assert world.db.scalar(select(func.count(Item.id)).where(Item.key == "tie-gift")) == 0  # not yet
    done = api.post(good.headers["location"], data={"csrf_token": token})
    assert done.status_code == 200 and "1 new" in done.text
    item = world.db.scalars(select(Item).where(Item.key == "tie-gift")).one()
    version = world.db.scalars(select(ItemVersion).where(ItemVersion.item_id == item.id)).one()
    assert (version.origin, version.source) == (VersionOrigin.IMPORT, "quiz.gift")
    assert world.db.scalar(select(func.count(ImportDraft.id))) == 1  # the bad one, until it expires
    # A draft is its uploader's only.
    world.author("bob")
    other = TestClient(api.app)
    sign_in(other, "bob")
    assert other.get(bad.headers["location"]).status_code == 404


# --- the API ----------------------------------------------------------------------------------------


def test_the_api_takes_yaml_checks_and_previews_without_saving(world: World, author: User) -> None:
    api = world.client
    assert api is not None
    me = world.headers(author)
    yaml_headers = {**me, "content-type": "application/yaml"}
    check = api.post("/api/v1/items/check", headers=yaml_headers, content=ITEM.replace("(r, 0)", "(r, q)"))
    assert check.status_code == 200
    assert check.json() == {"ok": False, "key": "tie-loss", "type": "numeric", "title": "The loss of a tie",
                            "problems": [check.json()["problems"][0]]}
    assert check.json()["problems"][0]["line"] == 8
    preview = api.post("/api/v1/items/preview?seed=2", headers=yaml_headers, content=ITEM)
    assert preview.status_code == 200 and preview.json()["check"]["ok"] is True
    assert preview.json()["preview"]["seed"] == 2 and preview.json()["preview"]["version"] is None
    as_json = api.post("/api/v1/items/check", headers=me, json=yaml.safe_load(ITEM))
    assert as_json.json()["ok"] is True
    assert world.db.scalar(select(func.count(Item.id)).where(Item.key == "tie-loss")) == 0
    made = api.post("/api/v1/items", headers=yaml_headers, content=ITEM)
    assert made.status_code == 201 and made.json() == {"key": "tie-loss", "version": 1, "created": True}
    again = api.post("/api/v1/items", headers=yaml_headers, content=ITEM)
    assert again.status_code == 200 and again.json() == {"key": "tie-loss", "version": 1, "created": False}
    refused = api.put("/api/v1/items/tie-loss", headers=yaml_headers, content=ITEM.replace("(r, 0)", "(r, q)"))
    assert refused.status_code == 400 and refused.json()["error"]["details"][0]["line"] == 8
    not_json = api.post("/api/v1/items", headers={**me, "content-type": "application/json"}, content=b"id: x")
    assert not_json.status_code == 400 and "send YAML with content-type application/yaml" in not_json.text
    for no_item, reads_as in (("false\n", "a bool"), ("- id: x\n", "a list"), ("", "nothing")):
        refused = api.post("/api/v1/items/preview", headers=yaml_headers, content=no_item)
        assert refused.status_code == 400, no_item
        assert refused.json()["error"]["code"] == "bad_body" and f"(it reads as {reads_as})" in refused.text
    version = world.db.scalars(select(ItemVersion).join(Item).where(Item.key == "tie-loss")).one()
    assert version.origin == VersionOrigin.API and version.source_text == ITEM


def test_sample_definitions_check_through_the_api_as_json(world: World) -> None:
    api = world.client
    assert api is not None
    me = world.headers(world.author("cy"))
    for key, body in SAMPLES.items():
        reply = api.post("/api/v1/items/check", headers=me, json=yaml.safe_load(textwrap.dedent(body)))
        assert reply.status_code == 200, reply.text
        assert reply.json()["key"] == key

