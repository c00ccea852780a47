"""The coverage tables: counted from the bank, written into content/README.md by a command, and
held to the bank by regenerating them here."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assessments.cli import app
from engine.content.coverage import (
    END_MARKER,
    START_MARKER,
    TOTAL,
    bank_coverage,
    replace_between_markers,
    to_markdown,
)
from tests.conftest import ROOT

BANK = """\
facets:
  course: [Course]
  chapter: [Ch.1 One, Ch.2 Two, Ch.3 Three]
  bloom: [Remember, Apply, Create]
  kind: [concept, computation]
required: [course, chapter, bloom, kind]
concepts: {}
"""


def _item(folder: Path, item_id: str, chapter: str, bloom: str, *, computed: bool = False) -> None:
    body = (
        f"id: {item_id}\ntype: numeric\ntitle: Item {item_id}\n"
        f"tags: {{course: Course, chapter: {chapter}, bloom: {bloom}, kind: computation}}\n"
        "stem: What is {{ x }} + 1? Give a whole number.\n"
    )
    if computed:
        body += ("params: {x: {integers: [1, 9]}}\nanswer: x + 1\ntolerance: {absolute: 0.1}\n"
                 "precision: {decimals: 0}\nmisconceptions:\n  forgot-one:\n    says: forgets the 1\n"
                 "    value: x\n    feedback: '{{ x }} forgets the 1.'\n")
    else:
        body = body.replace("{{ x }}", "2") + "answer: '3'\ntolerance: {absolute: 0.1}\n"
    (folder / f"{item_id}.yaml").write_text(body, encoding="utf-8")


def _short_text(folder: Path, item_id: str, chapter: str, bloom: str) -> None:
    (folder / f"{item_id}.yaml").write_text(
        f"id: {item_id}\ntype: short_text\ntitle: Item {item_id}\n"
        f"tags: {{course: Course, chapter: {chapter}, bloom: {bloom}, kind: concept}}\n"
        "stem: Name it.\nanswers:\n  - match: it\n", encoding="utf-8")


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    (tmp_path / "bank.yaml").write_text(BANK, encoding="utf-8")
    _item(tmp_path, "a", "Ch.1 One", "Apply", computed=True)
    _item(tmp_path, "b", "Ch.1 One", "Apply")
    _item(tmp_path, "c", "[Ch.1 One, Ch.2 Two]", "Remember", computed=True)
    _short_text(tmp_path, "d", "Ch.2 Two", "Create")
    return tmp_path


def test_counts_by_chapter_bloom_and_type(bank: Path) -> None:
    cov = bank_coverage(bank)
    assert cov.chapters == ("Ch.1 One", "Ch.2 Two", "Ch.3 Three")  # bank.yaml's order
    assert cov.blooms == ("Remember", "Apply", "Create")
    assert cov.count("Ch.1 One") == 3
    assert cov.count("Ch.1 One", "Apply") == 2
    assert cov.count("Ch.1 One", "Apply", "numeric") == 2
    assert cov.count("Ch.2 Two") == 2  # c is in two chapters and counts in each
    assert cov.count("Ch.2 Two", "Create", "short_text") == 1
    assert cov.count("Ch.3 Three") == 0
    assert cov.count(TOTAL) == 4  # ... and once in the total
    assert cov.computed["Ch.1 One"] == 2
    assert cov.computed["Ch.2 Two"] == 1
    assert cov.computed[TOTAL] == 2


def test_markdown_has_a_row_per_chapter_with_items_and_the_computed_share(bank: Path) -> None:
    text = to_markdown(bank_coverage(bank))
    assert "| chapter | Remember | Apply | Create | items | computed |" in text
    assert "| Ch.1 One | 1 | 2 | 0 | 3 | 2 (67%) |" in text
    assert "| Ch.2 Two | 1 | 0 | 1 | 2 | 1 (50%) |" in text
    assert f"| **{TOTAL}** | 1 | 2 | 1 | 4 | 2 (50%) |" in text
    assert "Ch.3 Three" not in text  # a declared chapter without items has no row
    # the full cross: one row per chapter and Bloom level, a column per question type
    header = ("| chapter | Bloom | single choice | multiple response | true false | numeric | ordering "
              "| matching | short text | essay | items |")
    assert header in text
    assert "| Ch.1 One | Apply | · | · | · | 2 | · | · | · | · | 2 |" in text
    assert "| Ch.2 Two | Create | · | · | · | · | · | · | 1 | · | 1 |" in text


def test_a_bank_that_does_not_load_has_no_table(bank: Path) -> None:
    (bank / "e.yaml").write_text("id: e\ntype: numeric\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"e\.yaml"):
        bank_coverage(bank)


def test_replace_between_markers_keeps_the_rest_of_the_document() -> None:
    document = f"# Title\n\nbefore\n{START_MARKER}\nold table\n{END_MARKER}\nafter\n"
    updated = replace_between_markers(document, "| new |\n")
    assert updated == f"# Title\n\nbefore\n{START_MARKER}\n\n| new |\n\n{END_MARKER}\nafter\n"
    assert replace_between_markers(updated, "| new |\n") == updated  # idempotent


@pytest.mark.parametrize(
    "document",
    ["no markers at all", f"{START_MARKER}\nonly the start", f"{END_MARKER}\n{START_MARKER}\n",
     f"{START_MARKER}\n{START_MARKER}\n{END_MARKER}"],
    ids=["none", "no-end", "reversed", "two-starts"],
)
def test_replace_between_markers_refuses_missing_or_misplaced_markers(document: str) -> None:
    with pytest.raises(ValueError, match="coverage"):
        replace_between_markers(document, "| new |\n")


def test_the_command_updates_and_checks_a_document(bank: Path, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START_MARKER}\nstale\n{END_MARKER}\n", encoding="utf-8")
    runner = CliRunner()
    stale = runner.invoke(app, ["content", "coverage", str(bank), "--check", str(readme)])
    assert stale.exit_code == 1
    assert "out of date" in stale.output
    updated = runner.invoke(app, ["content", "coverage", str(bank), "--update", str(readme)])
    assert updated.exit_code == 0, updated.output
    assert "| Ch.1 One | 1 | 2 | 0 | 3 | 2 (67%) |" in readme.read_text(encoding="utf-8")
    fresh = runner.invoke(app, ["content", "coverage", str(bank), "--check", str(readme)])
    assert fresh.exit_code == 0, fresh.output
    assert "up to date" in fresh.output
    printed = runner.invoke(app, ["content", "coverage", str(bank)])
    assert printed.exit_code == 0
    assert printed.output == to_markdown(bank_coverage(bank))


def test_the_readme_shows_the_coverage_of_the_shipped_bank() -> None:
    """Regenerates the tables from content/ and compares: a change to the bank without
    `assay content coverage --update content/README.md` fails here."""
    readme = (ROOT / "content" / "README.md").read_text(encoding="utf-8")
    generated = to_markdown(bank_coverage(ROOT / "content"))
    assert replace_between_markers(readme, generated) == readme, (
        "content/README.md's coverage tables are out of date: run "
        "`assay content coverage content/ --update content/README.md`")
