"""The checker on broken files: every problem says file and line, and nothing half-loads."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assessments.cli import app
from engine.content.checker import check
from engine.content.loader import item_files, load_items

BANK = """\
facets:
  chapter: [Ch.4 Alignment]
  discipline: [Science > Empirical Science > Social Science > Psychology]
concepts:
  ranking-loss-intuition: Intuition of the ranking loss
"""

GOOD = """\
id: good
type: numeric
title: Ranking loss
tags: {chapter: Ch.4 Alignment}
concepts: [ranking-loss-intuition]
stem: "r_w = {{ r_w }}, r_l = {{ r_l }}"
params:
  r_w: {uniform: [-2, 2], step: 0.1}
  r_l: {uniform: [-2, 2], step: 0.1}
constraints: [abs(r_w - r_l) >= 0.3]
answer: ranking_loss(r_w, r_l)
misconceptions:
  swapped: ranking_loss(r_l, r_w)
"""


def bank(tmp_path: Path, **files: str) -> Path:
    (tmp_path / "bank.yaml").write_text(BANK)
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text))
    return tmp_path


def problems(path: Path) -> list[str]:
    return [str(p) for p in check(path).problems]


def test_a_good_bank_checks_clean(tmp_path: Path) -> None:
    report = check(bank(tmp_path, good=GOOD))
    assert report.ok and len(report.items) == 1 and report.variants == 200


BROKEN = {
    # a declared key that the function contradicts (line 12: expect)
    "declared-key": (GOOD.replace("answer: ranking_loss(r_w, r_l)",
                                  "answer: ranking_loss(r_w, r_l)\nexpect: 0.693"),
                     12, r"the declared key 0\.693 disagrees with the computed key"),
    # two options are correct whenever the scores tie
    "ambiguous": ("""\
id: ambiguous
type: single_choice
title: Which is lower
stem: "{{ a }} vs {{ b }}"
params:
  a: {integers: [0, 3]}
  b: {integers: [0, 3]}
options:
  - text: first
    correct: a <= b
  - text: second
    correct: b <= a
""", 8, r"exactly one option must be correct, but 2 are"),
    "unknown-function": (GOOD.replace("ranking_loss(r_w, r_l)\nmisc", "rank_loss(r_w, r_l)\nmisc"),
                         11, r"unknown function 'rank_loss'"),
    "impossible": (GOOD.replace("constraints: [abs(r_w - r_l) >= 0.3]",
                                "constraints: [abs(r_w - r_l) >= 5]"),
                   10, r"constraints were not all met after 1000 draws"),
    "malformed": (GOOD.replace("title: Ranking loss", "title: [Ranking loss"), 4, r"malformed YAML"),
    "unknown-tag": (GOOD.replace("chapter: Ch.4 Alignment", "chapter: Ch.9 Magic"),
                    4, r"tag value 'Ch.9 Magic' is not declared for facet 'chapter'"),
    "unknown-facet": (GOOD.replace("{chapter: Ch.4 Alignment}", "{level: hard}"),
                      4, r"tag facet 'level' is not declared"),
    "unknown-concept": (GOOD.replace("[ranking-loss-intuition]", "[no-such-concept]"),
                        5, r"unknown concept 'no-such-concept'"),
    "unknown-field": (GOOD.replace("title: Ranking loss", "title: Ranking loss\ncolour: red"),
                      4, r"unknown field 'colour'"),
    "duplicate-key": (GOOD + "title: again\n", 14, r"duplicate key 'title'"),
    "bad-expression": (GOOD.replace("abs(r_w - r_l) >= 0.3", "abs(r_w - r_l) >= 0.3 and r_w.real"),
                       10, r"attribute access is not allowed"),
    "unknown-name": (GOOD.replace("ranking_loss(r_l, r_w)", "ranking_loss(r_l, r_x)"),
                     13, r"unknown name 'r_x'"),
    "misconception-is-the-key": (GOOD.replace("ranking_loss(r_l, r_w)", "ranking_loss(r_w, r_l) + 1e-9"),
                                 13, r"misconception 'swapped' falls within the key's tolerance"),
}


@pytest.mark.parametrize(("name", "case"), BROKEN.items(), ids=BROKEN.keys())
def test_broken_files_are_reported_with_file_and_line(tmp_path: Path, name: str,
                                                      case: tuple[str, int, str]) -> None:
    text, line, message = case
    found = problems(bank(tmp_path, **{name: text}))
    assert found, f"{name} passed the checker"
    pattern = re.compile(rf"^{re.escape(name)}\.yaml:{line}: .*{message}")
    assert any(pattern.search(p) for p in found), found


def test_one_bad_file_loads_nothing(tmp_path: Path) -> None:
    root = bank(tmp_path, good=GOOD, bad=BROKEN["malformed"][0].replace("id: good", "id: bad"))
    loaded, found = load_items(item_files(root), base=root)
    assert loaded == []
    assert [p.file for p in found] == ["bad.yaml"]


def test_checking_one_folder_resolves_links_across_the_bank(tmp_path: Path) -> None:
    bank(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "good.yaml").write_text(GOOD)
    linked = GOOD.replace("id: good", "id: linked").replace("concepts:", "related: [good]\nconcepts:")
    (tmp_path / "b" / "linked.yaml").write_text(linked)
    assert check(tmp_path / "b").ok
    (tmp_path / "a" / "good.yaml").unlink()
    assert any("related item 'good' is not in the bank" in p for p in problems(tmp_path / "b"))


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    found = problems(bank(tmp_path, one=GOOD, two=GOOD))
    assert any(re.match(r"two\.yaml:1: id 'good' is also used by one\.yaml", p) for p in found)


def test_cli_exits_non_zero_and_prints_file_line(tmp_path: Path) -> None:
    runner = CliRunner()
    broken = bank(tmp_path, **{"unknown-tag": BROKEN["unknown-tag"][0]})
    result = runner.invoke(app, ["content", "check", str(broken)])
    assert result.exit_code == 1
    assert "unknown-tag.yaml:4: tag value 'Ch.9 Magic'" in result.output
    good = bank(tmp_path / "good", good=GOOD) if (tmp_path / "good").mkdir() is None else None
    assert good is not None
    result = runner.invoke(app, ["content", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 items (1 computed; 1 numeric); 200 variants checked; ok" in result.output


def test_cli_previews_a_variant_with_its_key(tmp_path: Path) -> None:
    root = bank(tmp_path, good=GOOD)
    result = CliRunner().invoke(app, ["content", "preview", "good", "--seed", "3", "--path", str(root)])
    assert result.exit_code == 0, result.output
    assert 'key: {"answer":' in result.output and "grading the key: fraction 1" in result.output
    result = CliRunner().invoke(app, ["content", "preview", "nope", "--path", str(root)])
    assert result.exit_code == 2
