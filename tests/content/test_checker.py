"""The checker on broken files: every problem says file and line, and nothing half-loads.

``test_checker_classes.py`` holds an item for every class of authoring error; this file holds
the file-level and bank-level checks, the report and the command line.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assessments.cli import app
from engine.content.checker import check, variant_problems
from engine.content.loader import item_files, load_item_text, load_items

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
stem: "r_w = {{ r_w }}, r_l = {{ r_l }}: what is the ranking loss? Give three significant figures."
params:
  r_w: {uniform: [-2, 2], step: 0.1}
  r_l: {uniform: [-2, 2], step: 0.1}
constraints: [abs(r_w - r_l) >= 0.3]
answer: ranking_loss(r_w, r_l)
tolerance: {sigfigs: 3}
misconceptions:
  swapped:
    says: swaps the scores
    value: ranking_loss(r_l, r_w)
    feedback: "That is −log σ({{ r_l }} − ({{ r_w }})) = {{ ranking_loss(r_l, r_w):.3f }}."
"""

GUESSABLE = """\
id: guessable
type: true_false
title: Is the pair ranked the right way?
tags: {chapter: Ch.4 Alignment}
stem: "r_w = {{ r_w }}, r_l = {{ r_l }}. True or false: the gap r_w − r_l is below 3.5."
params:
  r_w: {uniform: [-2, 2], step: 0.1}
  r_l: {uniform: [-2, 2], step: 0.1}
answer: r_w - r_l < 3.5
"""


def bank(tmp_path: Path, **files: str) -> Path:
    (tmp_path / "bank.yaml").write_text(BANK)
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text))
    return tmp_path


def named(text: str, item_id: str) -> str:
    return re.sub(r"^id: .*$", f"id: {item_id}", text, count=1, flags=re.MULTILINE)


def problems(path: Path, **options: object) -> list[str]:
    return [str(p) for p in check(path, **options).problems]  # type: ignore[arg-type]


def test_a_good_bank_checks_clean(tmp_path: Path) -> None:
    report = check(bank(tmp_path, good=GOOD), strict=True)
    assert report.ok, [str(p) for p in report.problems]
    assert len(report.items) == 1 and report.variants == 2000


def test_items_checked_side_by_side_report_what_one_process_reports(tmp_path: Path) -> None:
    """``--jobs``: processes check items apart, and the report is the one a single process makes."""
    root = bank(tmp_path, good=GOOD)
    for name in ("declared-key", "ambiguous", "misconception-is-the-key"):
        text, _, _ = BROKEN[name]
        (root / f"{name}.yaml").write_text(text)
    alone, together = check(root, 300, strict=True, jobs=1), check(root, 300, strict=True, jobs=2)
    assert [str(p) for p in together.problems] == [str(p) for p in alone.problems]
    assert len(alone.problems) >= 3 and together.variants == alone.variants == 4 * 300


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
""", 8, r"exactly one option must be correct \(in 536 of 2000 variants; first seeds 2, 3, 5; at seed 2: 2 are\)"),
    "unknown-function": (GOOD.replace("ranking_loss(r_w, r_l)\ntol", "rank_loss(r_w, r_l)\ntol"),
                         11, r"unknown function 'rank_loss'.* \(did you mean 'ranking_loss'\?\)"),
    "impossible": (GOOD.replace("constraints: [abs(r_w - r_l) >= 0.3]",
                                "constraints: [abs(r_w - r_l) >= 5]"),
                   10, r"constraints were not all met after 1000 draws"),
    "malformed": (GOOD.replace("title: Ranking loss", "title: [Ranking loss"), 4, r"malformed YAML"),
    "unknown-tag": (GOOD.replace("chapter: Ch.4 Alignment", "chapter: Ch.9 Magic"),
                    4, r"tag value 'Ch.9 Magic' is not declared for facet 'chapter' .*\(declared: Ch.4 Alignment\)"),
    "unknown-facet": (GOOD.replace("{chapter: Ch.4 Alignment}", "{level: hard}"),
                      4, r"tag facet 'level' is not declared"),
    "unknown-concept": (GOOD.replace("[ranking-loss-intuition]", "[ranking-loss-intuitoin]"),
                        5, r"unknown concept 'ranking-loss-intuitoin' \(did you mean 'ranking-loss-intuition'\?\)"),
    "unknown-field": (GOOD.replace("title: Ranking loss", "title: Ranking loss\ncolour: red"),
                      4, r"unknown field 'colour'"),
    "duplicate-key": (GOOD + "title: again\n", 18, r"duplicate key 'title'"),
    "bad-expression": (GOOD.replace("abs(r_w - r_l) >= 0.3", "abs(r_w - r_l) >= 0.3 and r_w.real"),
                       10, r"attribute access is not allowed"),
    "unknown-name": (GOOD.replace("value: ranking_loss(r_l, r_w)", "value: ranking_loss(r_l, r_x)"),
                     16, r"unknown name 'r_x'.*\(did you mean 'r_w'\?\)"),
    "misconception-is-the-key": (GOOD.replace("value: ranking_loss(r_l, r_w)", "value: ranking_loss(r_w, r_l) + 1e-9"),
                                 16, r"misconception 'swapped' gives the key, within its tolerance"),
}
for _name, (_text, _line, _message) in list(BROKEN.items()):
    BROKEN[_name] = (named(_text, _name), _line, _message)


@pytest.mark.parametrize(("name", "case"), BROKEN.items(), ids=BROKEN.keys())
def test_broken_files_are_reported_with_file_and_line(tmp_path: Path, name: str,
                                                      case: tuple[str, int, str]) -> None:
    text, line, message = case
    found = problems(bank(tmp_path, **{name: text}))
    assert found, f"{name} passed the checker"
    pattern = re.compile(rf"^{re.escape(name)}\.yaml:{line}: .*{message}")
    assert any(pattern.search(p) for p in found), found


def test_a_problem_in_many_variants_is_one_line_with_its_count(tmp_path: Path) -> None:
    found = problems(bank(tmp_path, ambiguous=BROKEN["ambiguous"][0]))
    assert len([p for p in found if "exactly one option" in p]) == 1


def test_one_bad_file_loads_nothing(tmp_path: Path) -> None:
    root = bank(tmp_path, good=GOOD, bad=named(BROKEN["malformed"][0], "bad"))
    loaded, found = load_items(item_files(root), base=root)
    assert loaded == []
    assert [p.file for p in found] == ["bad.yaml"]


def test_checking_one_folder_resolves_links_across_the_bank(tmp_path: Path) -> None:
    bank(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "good.yaml").write_text(GOOD)
    linked = named(GOOD, "linked").replace("concepts:", "related: [good]\nconcepts:").replace(
        "title: Ranking loss", "title: Linked ranking loss")
    (tmp_path / "b" / "linked.yaml").write_text(linked)
    assert check(tmp_path / "b").ok, problems(tmp_path / "b")
    (tmp_path / "a" / "good.yaml").unlink()
    assert any("related item 'good' is not in the bank" in p for p in problems(tmp_path / "b"))


def test_the_file_name_is_the_id(tmp_path: Path) -> None:
    found = problems(bank(tmp_path, ranking=GOOD))
    assert any(re.match(r"ranking\.yaml:1: the file name must be the item's id: rename ranking\.yaml "
                        r"to good\.yaml", p) for p in found), found


def test_a_duplicate_id_is_reported_against_the_file_added(tmp_path: Path) -> None:
    # the copy sorts before the original, and is newer: it is the one reported
    root = bank(tmp_path, good=GOOD)
    (root / "a-copy.yaml").write_text(GOOD)
    old = (root / "good.yaml").stat().st_mtime - 60
    os.utime(root / "good.yaml", (old, old))
    found = problems(root)
    assert any(re.match(r"a-copy\.yaml:1: id 'good' is also used by good\.yaml, the original", p)
               for p in found), found
    assert not any(p.startswith("good.yaml") for p in found), found


def test_two_files_named_after_one_id_report_the_newer(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    bank(tmp_path)
    (tmp_path / "y" / "good.yaml").write_text(GOOD)
    (tmp_path / "x" / "good.yaml").write_text(GOOD)
    old = (tmp_path / "y" / "good.yaml").stat().st_mtime - 60
    os.utime(tmp_path / "y" / "good.yaml", (old, old))
    found = problems(tmp_path)
    assert any(re.match(r"x/good\.yaml:1: id 'good' is also used by y/good\.yaml", p) for p in found), found


def test_two_items_may_not_share_a_title(tmp_path: Path) -> None:
    root = bank(tmp_path, good=GOOD)
    (root / "other.yaml").write_text(named(GOOD, "other"))
    old = (root / "good.yaml").stat().st_mtime - 60
    os.utime(root / "good.yaml", (old, old))
    found = problems(root)
    assert any(re.match(r"other\.yaml:3: the title 'Ranking loss' is also the title of good\.yaml", p)
               for p in found), found


def test_a_required_facet_is_named_with_its_values(tmp_path: Path) -> None:
    root = bank(tmp_path, good=GOOD)
    (root / "bank.yaml").write_text(BANK.replace("concepts:", "  kind: [concept, computation]\n"
                                                 "required: [chapter, kind]\nconcepts:"))
    found = problems(root)
    assert any(re.match(r"good\.yaml:4: every item needs a 'kind' tag \(bank\.yaml requires it; its "
                        r"values: concept, computation\)", p) for p in found), found


def test_a_guessable_key_is_a_warning_and_an_error_when_strict(tmp_path: Path) -> None:
    root = bank(tmp_path, guessable=GUESSABLE)
    report = check(root)
    assert report.ok
    [warning] = report.warnings
    assert re.match(r"guessable\.yaml:9: warning: the key is True in 1970 of 2000 variants \(98\.5%\)",
                    str(warning)), warning
    strict = check(root, strict=True)
    assert not strict.ok and [p.line for p in strict.problems] == [9]


def test_a_key_that_takes_two_values_is_guessable(tmp_path: Path) -> None:
    ordering = """\
    id: two-orders
    type: ordering
    title: The effect of beta
    tags: {chapter: Ch.4 Alignment}
    stem: "The margin is {{ h }}. Order the losses at these betas from the lowest."
    params:
      h: {choice: [-2, -1, 1, 2]}
      betas: {value: [0.1, 0.5, 1.0]}
    compute:
      loss: dpo_loss(h - 10, -10, 0, 0, beta=betas)
    options:
      for_each: i in 0..2
      text: "β = {{ betas[i] }}"
      rank: loss[i]
    misconceptions:
      beta-is-a-weight:
        says: thinks a larger beta always raises the loss
        order_by: betas[i] * 0 + i
    """
    report = check(bank(tmp_path, **{"two-orders": ordering}))
    assert any(re.search(r"two-orders\.yaml:11: warning: only 2 distinct keys in 2000 variants", str(w))
               for w in report.warnings), report.warnings


def test_compute_then_sort_tagged_analysis_is_a_warning(tmp_path: Path) -> None:
    root = bank(tmp_path)
    (root / "bank.yaml").write_text(BANK.replace("concepts:", "  bloom: [Apply, Analysis]\nconcepts:"))
    ordering = textwrap.dedent("""\
    id: order-by-loss
    type: ordering
    title: Order pairs by loss
    tags: {chapter: Ch.4 Alignment, bloom: Analysis}
    stem: Order these score pairs from the lowest ranking loss to the highest.
    params:
      r_w: {uniform: [-3, 3], step: 0.1, size: 3}
      r_l: {uniform: [-3, 3], step: 0.1, size: 3}
    constraints:
      - min(abs(sort(r_w - r_l)[1:] - sort(r_w - r_l)[:2])) >= 0.2
    compute:
      loss: ranking_loss(r_w, r_l)
    options:
      for_each: i in 0..2
      text: "r_w = {{ r_w[i]:.1f }}, r_l = {{ r_l[i]:.1f }}"
      rank: loss[i]
    """)
    (root / "order-by-loss.yaml").write_text(ordering)
    report = check(root)
    assert any(re.match(r"order-by-loss\.yaml:4: warning: tagged bloom: Analysis, but a student computes",
                        str(w)) for w in report.warnings), report.warnings


def test_many_variants_are_checked_in_chunks(tmp_path: Path) -> None:
    # eight options of 13,000 variants: 104,000 numbers, past the bound on one value (100,000)
    wide = """\
    id: wide
    type: multiple_response
    title: Which pairs cost more than a tie?
    tags: {chapter: Ch.4 Alignment}
    stem: Which pairs cost more than a tie?
    params:
      r_w: {uniform: [-3, 3], step: 0.1, size: 8}
      r_l: {uniform: [-3, 3], step: 0.1, size: 8}
    constraints: [any(r_w < r_l), any(r_w > r_l)]
    compute:
      loss: ranking_loss(r_w, r_l)
    options:
      for_each: i in 0..7
      text: "pair {{ i + 1 }}: {{ r_w[i]:.2f }} and {{ r_l[i]:.2f }}"
      correct: loss[i] > log(2)
    """
    report = check(bank(tmp_path, wide=wide), variants=13_000)
    assert report.ok, [str(p) for p in report.problems]
    assert report.variants == 13_000


def test_a_chunk_whose_values_outgrow_the_bound_is_halved(tmp_path: Path) -> None:
    # ten copies of a 64-vector: 640 numbers a variant, where the parameters alone suggest 64
    wide = """\
    id: wider
    type: true_false
    title: A wide computed value
    tags: {chapter: Ch.4 Alignment}
    stem: "Is the largest of {{ len(x) }} scores above 0.5? The largest is {{ max(x):.2f }}."
    params:
      x: {uniform: [0, 1], step: 0.01, size: 64}
    compute:
      copies: "[x, x, x, x, x, x, x, x, x, x]"
      top: max(copies)
    answer: top > 0.98
    """
    report = check(bank(tmp_path, wider=wide), variants=1000)
    assert report.ok, [str(p) for p in report.problems]
    assert report.variants == 1000


def test_the_save_path_refuses_what_the_checker_refuses() -> None:
    item = load_item_text(BROKEN["ambiguous"][0])
    found, count = variant_problems(item)
    assert count == 2000
    assert [(path, message.split(" (")[0]) for path, message in found] == [
        (("options",), "exactly one option must be correct")]
    assert variant_problems(load_item_text(GOOD)) == ([], 2000)


def test_cli_exits_non_zero_and_prints_file_line(tmp_path: Path) -> None:
    runner = CliRunner()
    broken = bank(tmp_path, **{"unknown-tag": BROKEN["unknown-tag"][0]})
    result = runner.invoke(app, ["content", "check", str(broken)])
    assert result.exit_code == 1
    assert "unknown-tag.yaml:4: tag value 'Ch.9 Magic'" in result.output
    good = tmp_path / "good"
    good.mkdir()
    bank(good, good=GOOD)
    result = runner.invoke(app, ["content", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 items (1 computed; 1 numeric); 2000 variants checked; ok" in result.output


def test_cli_strict_fails_on_warnings(tmp_path: Path) -> None:
    root = bank(tmp_path, guessable=GUESSABLE)
    runner = CliRunner()
    result = runner.invoke(app, ["content", "check", str(root)])
    assert result.exit_code == 0, result.output
    assert "guessable.yaml:9: warning: the key is True" in result.output
    assert result.output.rstrip().endswith("2000 variants checked; ok; 1 warning(s)")
    result = runner.invoke(app, ["content", "check", "--strict", str(root)])
    assert result.exit_code == 1
    assert "1 problem(s); 1 warning(s) (errors under --strict)" in result.output


def test_cli_checks_a_folder_of_ones_own(tmp_path: Path) -> None:
    # below the bank: the nearest bank.yaml above it; elsewhere: --bank
    (tmp_path / "course").mkdir()
    root = bank(tmp_path / "course")
    mine = root / "drafts" / "mine"
    mine.mkdir(parents=True)
    (mine / "good.yaml").write_text(GOOD)
    runner = CliRunner()
    result = runner.invoke(app, ["content", "check", str(mine)])
    assert result.exit_code == 0, result.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "good.yaml").write_text(GOOD)
    result = runner.invoke(app, ["content", "check", str(elsewhere)])
    assert result.exit_code == 1
    assert "no bank.yaml here or in any folder above" in result.output
    result = runner.invoke(app, ["content", "check", str(elsewhere), "--bank", str(root / "bank.yaml")])
    assert result.exit_code == 0, result.output


def test_cli_previews_a_variant_with_its_key(tmp_path: Path) -> None:
    root = bank(tmp_path, good=GOOD)
    result = CliRunner().invoke(app, ["content", "preview", "good", "--seed", "3", "--path", str(root)])
    assert result.exit_code == 0, result.output
    assert 'key: {"answer":' in result.output and "grading the key: fraction 1" in result.output
    result = CliRunner().invoke(app, ["content", "preview", "nope", "--path", str(root)])
    assert result.exit_code == 2
