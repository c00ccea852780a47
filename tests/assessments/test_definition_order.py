"""A stored definition keeps its author's key order on every database: its ``params`` are drawn in
that order (so a seed's variant is the same in every process) and its ``compute`` entries read only
earlier ones. PostgreSQL's ``jsonb`` sorted the keys (shorter first): a server restarted on it drew
other numbers for the same seed, and an item whose later value read an earlier one no longer loaded."""

from __future__ import annotations

import textwrap

import yaml
from sqlalchemy import select

from assessments.bank import service
from assessments.bank.service import item_model, save_definition
from assessments.models import Item, ItemVersion
from engine.variants import generate
from tests.assessments.conftest import T0, World

ITEM = textwrap.dedent("""\
    id: order-kept
    type: numeric
    title: Keys in the author's order
    stem: "Take {{ zeta }} and {{ alpha }}: what is {{ total }}?"
    params:
      zeta: {uniform: [1, 2]}
      alpha: {uniform: [3, 4]}
    compute:
      scaled: zeta * 10
      total: scaled + alpha
    answer: total
    tolerance: {absolute: 0.005}
    """)


def test_a_stored_definition_reads_back_in_its_authors_order(world: World) -> None:
    data = yaml.safe_load(ITEM)
    save_definition(world.db, data, source="order-kept.yaml", actor_id=None, now=T0, source_text=ITEM)
    world.db.flush()
    before = generate(item_model(world.db.scalars(
        select(ItemVersion).join(Item).where(Item.key == "order-kept")).one()), 7).params
    service._ITEMS.data.clear()  # as a new process: nothing parsed yet
    world.db.expire_all()
    version = world.db.scalars(select(ItemVersion).join(Item).where(Item.key == "order-kept")).one()
    assert list(version.definition) == list(data)
    assert list(version.definition["params"]) == ["zeta", "alpha"]
    assert list(version.definition["compute"]) == ["scaled", "total"]
    after = generate(item_model(version), 7).params
    assert list(after) == ["zeta", "alpha"] and repr(after) == repr(before)
