"""The bank's declarations: a facet value or concept an item names that its bank does not declare
is a problem at its line, declared on purpose only (the editor's "Declare" button with and without
JavaScript, or POST /api/v1/declarations, by those who may edit the bank), kept in the database,
merged with the files' ``bank.yaml`` by ``content load`` and written back by ``content export``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml
from sqlalchemy import select

from assessments.bank import authoring, declarations, repository
from assessments.bank.banks import current
from assessments.bank.content_sync import export_folder, load_content
from assessments.models import Declarations, Item, Role
from engine.content.bank import load_bank
from engine.content.checker import check
from tests.assessments.conftest import T0, Clock, World
from tests.assessments.test_authoring import ITEM, csrf, principal_of, sign_in
from tests.conftest import ROOT

TAGGED = ITEM + textwrap.dedent("""\
    tags: {course: Foundations of Large Language Models, chapter: Ch.9 Evaluation}
    concepts: [reward-model-nll, reward-calibration]
    """)
"""Line 10 names a chapter and line 11 a concept that no bank declares."""


def lines_of(checked: authoring.Checked) -> dict[int, str]:
    return {p.line: p.message for p in checked.errors}


def test_undeclared_values_are_problems_at_their_lines_until_declared(world: World, clock: Clock) -> None:
    ada = world.author("ada")
    me = principal_of(ada)
    checked = authoring.check_text(world.db, me, TAGGED, new=True)
    assert checked.bank is not None and checked.bank.slug == "course:ada-course"
    assert [(u.kind, u.facet, u.value, u.problem.line) for u in checked.undeclared] == [
        ("facet", "chapter", "Ch.9 Evaluation", 10), ("concept", None, "reward-calibration", 11)]
    assert "tag value 'Ch.9 Evaluation' is not declared for facet 'chapter'" in lines_of(checked)[10]
    assert "unknown concept 'reward-calibration'" in lines_of(checked)[11]
    assert not checked.ok
    _, saved = authoring.save_text(world.db, me, TAGGED, bank_slug=None, now=clock.now, new=True)
    assert saved is None and world.db.scalar(select(Item).where(Item.key == "tie-loss")) is None

    wanted = declarations.DeclarationsIn(facets={"chapter": ["Ch.9 Evaluation"]},
                                         concepts={"reward-calibration": "Calibration of reward models"})
    out, added = declarations.declare(world.db, me, wanted, now=clock.now)
    assert added and out.bank == "course:ada-course"
    assert out.own == {"facets": {"chapter": ["Ch.9 Evaluation"]},
                       "concepts": {"reward-calibration": "Calibration of reward models"}}
    bank, _ = load_bank(ROOT / "content")  # the installed bank.yaml's chapters, then the bank's own
    assert bank is not None
    shipped = list(bank.declarations.facets["chapter"])
    assert out.facets["chapter"] == [*shipped, "Ch.9 Evaluation"]
    again = authoring.check_text(world.db, me, TAGGED, new=True)
    assert again.ok and again.undeclared == ()
    _, saved = authoring.save_text(world.db, me, TAGGED, bank_slug=None, now=clock.now, new=True)
    assert saved is not None and saved.version == 1

    # Another course's bank does not see what Ada's declared.
    bob = world.author("bob")
    other = authoring.check_text(world.db, principal_of(bob), TAGGED.replace("tie-loss", "bobs-tie"), new=True)
    assert [u.value for u in other.undeclared] == ["Ch.9 Evaluation", "reward-calibration"]


def test_declarations_merge_sections_generically() -> None:
    base = {"facets": {"chapter": ["A", "B"]}, "concepts": {"x": "X"}, "required": ["chapter"]}
    extra = {"facets": {"chapter": ["B", "C"], "kind": ["case study"]}, "concepts": {"x": "Other", "y": "Y"},
             "misconceptions": {"sign-flip": "reads the loss with its sign flipped"}}
    assert declarations.merge(base, extra) == {
        "facets": {"chapter": ["A", "B", "C"], "kind": ["case study"]}, "concepts": {"x": "X", "y": "Y"},
        "required": ["chapter"], "misconceptions": {"sign-flip": "reads the loss with its sign flipped"}}


def test_the_api_declares_for_those_who_may_edit_the_bank(world: World) -> None:
    api = world.client
    assert api is not None
    ada, outsider = world.author("ada"), world.author("eve")
    shown = api.get("/api/v1/declarations", headers=world.headers(ada))
    assert shown.status_code == 200
    assert shown.json()["bank"] == "library" and shown.json()["can_declare"] is False
    assert "Ch.4 Alignment" in shown.json()["facets"]["chapter"]
    assert shown.json()["concepts"]["dpo"] == "Direct Preference Optimization"
    body = {"bank": "course:ada-course", "facets": {"chapter": ["Ch.9 Evaluation"]},
            "concepts": {"reward-calibration": "Calibration of reward models"}}
    made = api.post("/api/v1/declarations", json=body, headers=world.headers(ada))
    assert made.status_code == 201, made.text
    assert made.json()["own"]["concepts"] == {"reward-calibration": "Calibration of reward models"}
    assert api.post("/api/v1/declarations", json=body, headers=world.headers(ada)).status_code == 200
    mine = api.get("/api/v1/declarations", params={"bank": "course:ada-course"}, headers=world.headers(ada)).json()
    assert mine["can_declare"] is True and "Ch.9 Evaluation" in mine["facets"]["chapter"]

    # Eve cannot see Ada's bank; an instructor may not declare in the shared library.
    assert api.post("/api/v1/declarations", json=body, headers=world.headers(outsider)).status_code == 404
    library = api.post("/api/v1/declarations", json={"bank": "library", "concepts": {"x-y": "X"}},
                       headers=world.headers(ada))
    assert library.status_code == 403 and library.json()["error"]["code"] == "bank_read_only"
    # Bad input is refused where it is, and nothing changes.
    bad = api.post("/api/v1/declarations", json={"facets": {"Chapter!": ["x"]}}, headers=world.headers(ada))
    assert bad.status_code == 422 and "Chapter!" in bad.text
    unknown = api.post("/api/v1/declarations", json={"concepts": {"ok": "Ok"}, "misc": 1}, headers=world.headers(ada))
    assert unknown.status_code == 422 and "misc" in unknown.text
    empty = api.post("/api/v1/declarations", json={}, headers=world.headers(ada))
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "nothing_to_declare"
    row = world.db.scalars(select(Declarations)).one()
    assert row.data["concepts"] == {"reward-calibration": "Calibration of reward models"}


def test_the_editor_declares_a_value_without_javascript(world: World) -> None:
    api = world.client
    assert api is not None
    world.author("ada")
    sign_in(api, "ada")
    page = api.get("/bank/new")
    assert "Tags and concepts the bank declares" in page.text and "<dt>chapter</dt>" in page.text
    assert 'id="declarations-data"' in page.text
    token = csrf(api, "/bank/new")
    form = {"csrf_token": token, "text": TAGGED, "action": "check", "seed": "0", "bank": "course:ada-course"}
    checked = api.post("/bank/new", data=form)
    assert 'value="facet:chapter=Ch.9 Evaluation"' in checked.text
    assert 'value="concept:reward-calibration"' in checked.text
    assert 'name="concept-title-reward-calibration" value="Reward calibration"' in checked.text
    declared = api.post("/bank/new", data={**form, "declare": "facet:chapter=Ch.9 Evaluation"})
    assert declared.status_code == 200
    assert "Declared chapter: Ch.9 Evaluation in the bank course:ada-course." in declared.text
    assert 'value="facet:chapter=Ch.9 Evaluation"' not in declared.text
    fragment = api.post("/bank/check", data={**form, "declare": "concept:reward-calibration",
                                             "concept-title-reward-calibration": "Calibrated rewards"})
    assert "Declared the concept reward-calibration in the bank" in fragment.text and "<html" not in fragment.text
    assert "The checker found no problem" in fragment.text
    row = world.db.scalars(select(Declarations)).one()
    assert row.data == {"facets": {"chapter": ["Ch.9 Evaluation"]},
                        "concepts": {"reward-calibration": "Calibrated rewards"}}
    bad = api.post("/bank/check", data={**form, "declare": "facet:Chapter!=x"})
    assert bad.status_code == 400 and world.db.scalars(select(Declarations)).one().data == row.data


BANK = textwrap.dedent("""\
    facets:
      course: [Foundations of Large Language Models]
      chapter: [Ch.4 Alignment]
    concepts:
      reward-model-nll: Reward Model Loss as Negative Log-Likelihood
    """)


def test_load_merges_the_files_declarations_and_export_writes_the_declared_back(world: World, tmp_path: Path) -> None:
    folder = tmp_path / "bank"
    folder.mkdir()
    (folder / "bank.yaml").write_text(BANK)
    (folder / "tie-loss.yaml").write_text(ITEM + "tags: {chapter: Ch.4 Alignment}\nconcepts: [reward-model-nll]\n")
    load_content(world.db, folder, actor_id=None, now=T0)
    library = repository.library(world.db)
    assert declarations.stored(world.db, library)["facets"] == {"course": ["Foundations of Large Language Models"],
                                                                "chapter": ["Ch.4 Alignment"]}
    admin = world.user("librarian", Role.ADMIN)
    declarations.declare(world.db, principal_of(admin), declarations.DeclarationsIn(
        bank="library", facets={"chapter": ["Ch.9 Evaluation"]}, concepts={"reward-calibration": "Calibration"}),
        now=T0)
    item, version = current(world.db, "tie-loss")
    out = tmp_path / "exported"
    export_folder(world.db, out, [(item, version)], folder / "bank.yaml")
    written = yaml.safe_load((out / "bank.yaml").read_text())
    assert "Ch.9 Evaluation" in written["facets"]["chapter"]
    assert written["concepts"]["reward-calibration"] == "Calibration"
    assert written["concepts"]["reward-model-nll"] == "Reward Model Loss as Negative Log-Likelihood"
    assert check(out, variants=20).ok
    # A section another part of Assay declares survives the database and the export.
    declarations.add(world.db, library, {"misconceptions": {"sign-flip": "flips the sign"}}, actor_id=None, now=T0)
    export_folder(world.db, out, [(item, version)], folder / "bank.yaml")
    assert yaml.safe_load((out / "bank.yaml").read_text())["misconceptions"] == {"sign-flip": "flips the sign"}
