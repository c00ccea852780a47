"""The bank's declarations a practice reads: concept prerequisites and shared misconception names."""

from __future__ import annotations

from pathlib import Path

from engine.content.bank import load_bank
from engine.content.checker import check
from tests.content.test_checker import BANK, GOOD, bank, named

PRACTICE_BANK = BANK.replace("concepts:\n", "concepts:\n  reward-model-nll: Reward model loss as NLL\n") + """\
prerequisites:
  ranking-loss-intuition: [reward-model-nll]
misconceptions:
  swapped: puts the rejected response where the chosen one belongs
"""


def _bank_file(tmp_path: Path, text: str) -> Path:
    (tmp_path / "bank.yaml").write_text(text)
    return tmp_path


def test_prerequisites_and_misconceptions_are_read_from_the_bank(tmp_path: Path) -> None:
    found, problems = load_bank(_bank_file(tmp_path, PRACTICE_BANK))
    assert problems == [] and found is not None
    assert found.prerequisites == {"ranking-loss-intuition": ("reward-model-nll",)}
    assert found.misconceptions == {"swapped": "puts the rejected response where the chosen one belongs"}


def test_an_unknown_prerequisite_is_refused_at_its_line(tmp_path: Path) -> None:
    text = PRACTICE_BANK.replace("[reward-model-nll]", "[reward-model-nl]")
    found, problems = load_bank(_bank_file(tmp_path, text))
    assert found is None
    assert [(p.line, p.message) for p in problems] == [
        (8, "unknown concept 'reward-model-nl' (did you mean 'reward-model-nll'?)")]


def test_a_cycle_of_prerequisites_is_refused(tmp_path: Path) -> None:
    text = PRACTICE_BANK.replace("prerequisites:\n", "prerequisites:\n  reward-model-nll: [ranking-loss-intuition]\n")
    found, problems = load_bank(_bank_file(tmp_path, text))
    assert found is None
    assert [p.message for p in problems] == [
        "the prerequisites of reward-model-nll, ranking-loss-intuition form a cycle"]


def test_a_misconception_name_two_items_share_must_be_declared(tmp_path: Path) -> None:
    root = bank(tmp_path, good=GOOD, other=named(GOOD, "other").replace("title: Ranking loss", "title: Another"))
    report = check(root, strict=False)
    assert report.ok
    assert sorted((p.file, p.line) for p in report.warnings if "also in" in p.message) == [
        ("good.yaml", 14), ("other.yaml", 14)]
    (root / "bank.yaml").write_text(PRACTICE_BANK)
    assert not [p for p in check(root).warnings if "also in" in p.message]
