"""A matching item's answer pool is always shuffled, as an ordering item's options are.

Prompt n's answer is the n-th entry of the authored pool: shown in authored order, every key
would read straight down the list. So neither the item's ``shuffle: false`` nor a quiz that
does not shuffle (the service turns an item's ``shuffle`` off) keeps the pool in place.
"""

from __future__ import annotations

import textwrap
from collections import Counter

from engine.content.loader import load_item_text
from engine.qtypes import qtype_for
from engine.variants import generate, generate_batch
from tests.engine import samples

SEEDS = range(200)


def _key_positions(item_text: str, **update: object) -> Counter[tuple[int, ...]]:
    item = load_item_text(textwrap.dedent(item_text)).model_copy(update=update)
    qtype = qtype_for(item)
    return Counter(tuple(qtype.correct_response(item, generate(item, seed))["matches"]) for seed in SEEDS)


def test_the_pool_is_shuffled_whatever_the_items_shuffle_says() -> None:
    for update in ({}, {"shuffle": False}):
        keys = _key_positions(samples.MATCHING, **update)
        # Three prompts, a pool of five: 60 ways to place the three answers, each about as often
        # (200 variants show about 58 of them; each turns up 3.3 times on average).
        assert len(keys) >= 50, update
        assert keys[(0, 1, 2)] <= 12, f"the authored order is the key in {keys[(0, 1, 2)]} of {len(SEEDS)}"


def test_an_item_that_says_shuffle_false_gets_the_same_variants_as_one_that_shuffles() -> None:
    item = load_item_text(textwrap.dedent(samples.MATCHING))
    unshuffled = item.model_copy(update={"shuffle": False})
    orders = [generate_batch(model, SEEDS).order for model in (unshuffled, item)]
    assert orders[0] is not None and orders[1] is not None and (orders[0] == orders[1]).all()
    assert generate(unshuffled, 7).order == generate(item, 7).order != (0, 1, 2, 3, 4)
