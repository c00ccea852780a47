"""The format documentation's examples are real items that pass the checker."""

from __future__ import annotations

import re

import pytest

from engine.content.checker import check_item
from engine.content.loader import LoadedItem, item_from_document
from engine.content.source import parse_yaml
from tests.conftest import ROOT

README = (ROOT / "content" / "README.md").read_text()
BLOCKS = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
EXAMPLES = [block for block in BLOCKS if block.startswith("id: ")]


def test_every_question_type_has_a_worked_example() -> None:
    types = {re.search(r"^type: (\w+)", block, re.MULTILINE).group(1) for block in EXAMPLES}  # type: ignore[union-attr]
    assert types >= {"single_choice", "true_false", "numeric", "ordering", "matching", "short_text", "essay"}


@pytest.mark.parametrize("block", EXAMPLES, ids=[re.search(r"id: (\S+)", b).group(1) for b in EXAMPLES])  # type: ignore[union-attr]
def test_example_checks_clean(block: str) -> None:
    document, problems = parse_yaml(block, "README.md")
    assert document is not None, problems
    item, problems = item_from_document(document)
    assert item is not None, [str(p) for p in problems]
    found, _ = check_item(LoadedItem(item, document))
    assert not found, [str(p) for p in found]


def test_every_file_the_readme_names_exists() -> None:
    named = re.findall(r"`([\w./-]+\.yaml)`", README)
    assert "foundations-of-llms/ch4-alignment/reward-models/ranking-loss-which-pair-is-penalised.yaml" in named
    missing = [name for name in named if "/" in name and not (ROOT / "content" / name).is_file()]
    assert not missing
