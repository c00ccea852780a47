"""A large import's items are checked in processes of their own, not in the serving process.

Checking draws thousands of variants per item: in a thread of ``assay serve`` it holds the
interpreter lock for seconds, and every student's save in that process waits its turns at it
(saves of 400-500 ms during a 263-item import in ``bench/contention.py``). From
:data:`assessments.bank.checking.SPREAD_AT` items the check runs in a pool of spawned processes; the
problems found are the same as in the process, in the same order, and a broken pool falls back to
the process.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
import yaml

from assessments import apart
from assessments.bank import checking, exchange
from assessments.bank.exchange import prepare_import
from assessments.bank.service import content_hash
from assessments.errors import Invalid
from engine.content.loader import definition_problems
from engine.items import ItemBase
from tests.assessments.conftest import BrokenPool
from tests.engine import samples


def _numeric(key: str, *, wrong: bool = False) -> dict[str, Any]:
    """The sample numeric item under ``key``; ``wrong``: a misconception that is the key itself
    (every variant's distractor equals the answer: an error the variant check finds)."""
    data = {**yaml.safe_load(textwrap.dedent(samples.NUMERIC)), "id": key}
    if wrong:
        data["misconceptions"] = {**data["misconceptions"], "no-mistake": "ranking_loss(r_w, r_l)"}
    return data


def _items(count: int, wrong: set[int]) -> list[ItemBase]:
    items = []
    for n in range(count):
        item, problems = definition_problems(_numeric(f"numeric-{n}", wrong=n in wrong))
        assert item is not None, problems
        items.append(item)
    return items


@pytest.fixture(scope="module", autouse=True)
def _stop_the_pool() -> Any:
    yield
    apart.shut_down()


def test_a_large_import_is_checked_in_other_processes_with_the_same_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    count = checking.SPREAD_AT + 2
    items = _items(count, wrong={1, count - 1})
    in_process = [checking._problems(item) for item in items]
    assert [bool(found) for found in in_process] == [n in {1, count - 1} for n in range(count)]
    assert "no-mistake" in str(in_process[1])

    def not_here(_item: Any) -> Any:
        raise AssertionError("checked in the serving process")

    # The spawned processes import the checker afresh: this process's copy is never called.
    monkeypatch.setattr(checking, "variant_problems", not_here)
    assert checking.problems_of(items) == in_process
    with pytest.raises(AssertionError, match="serving process"):
        checking.problems_of(items[: checking.SPREAD_AT - 1])  # a small import: in the process


def test_a_large_yaml_import_refused_says_where_as_before() -> None:
    count = checking.SPREAD_AT + 1
    text = "\n---\n".join(yaml.safe_dump(_numeric(f"bulk-{n}", wrong=n == 4), sort_keys=False) for n in range(count))
    with pytest.raises(Invalid) as refused:
        prepare_import(text.encode(), format="yaml", name="bulk.yaml")
    details = refused.value.details
    assert details and {d["file"] for d in details} == {"bulk.yaml"}
    assert all(d["path"][:2] == ["misconceptions", "no-mistake"] for d in details), details
    line = text.splitlines().index("id: bulk-4") + 1
    assert all(d["line"] > line for d in details), (line, details)  # in the fifth document, not the first
    ok = "\n---\n".join(yaml.safe_dump(_numeric(f"fine-{n}"), sort_keys=False) for n in range(count))
    assert [item.id for _, item, _ in prepare_import(ok.encode(), format="yaml", name="ok.yaml").entries] == [
        f"fine-{n}" for n in range(count)]


def test_a_broken_pool_falls_back_to_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = BrokenPool()
    monkeypatch.setattr(apart.POOL, "executor", broken)
    items = _items(checking.SPREAD_AT, wrong={0})
    assert checking.problems_of(items) == [checking._problems(item) for item in items]
    assert apart.POOL.executor is None  # the next large import starts new processes


def _stream(count: int, prefix: str, wrong: frozenset[int] = frozenset()) -> bytes:
    return "\n---\n".join(yaml.safe_dump(_numeric(f"{prefix}-{n}", wrong=n in wrong), sort_keys=False)
                          for n in range(count)).encode()


def test_a_large_import_is_read_and_checked_whole_in_another_process(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _stream(100, "apart")
    assert len(data) >= exchange.APART_AT
    here = exchange._prepared(data, format="yaml", name="apart.yaml")

    def not_here(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("read in the serving process")

    # The spawned process imports the module afresh: this process's copy is never called.
    monkeypatch.setattr(exchange, "_prepared", not_here)
    apart = exchange.prepare_import(data, format="yaml", name="apart.yaml")
    assert apart.entries == here.entries and [item.id for _, item, _ in apart.entries][:2] == ["apart-0", "apart-1"]
    assert apart.digests == tuple(content_hash(d) for d, _, _ in here.entries)
    with pytest.raises(AssertionError, match="serving process"):
        exchange.prepare_import(data[: exchange.APART_AT // 2], format="yaml", name="small.yaml")


def test_a_large_import_refused_apart_says_what_and_where_as_in_the_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = _stream(100, "bad", wrong=frozenset({3, 97})) + b"\n---\nid: broken\ntype: nonsense\n"
    with pytest.raises(Invalid) as here:
        exchange._prepared(data, format="yaml", name="bad.yaml")
    with pytest.raises(Invalid) as apart:
        exchange.prepare_import(data, format="yaml", name="bad.yaml")
    assert (apart.value.message, apart.value.code) == (here.value.message, here.value.code) == (
        "the import was rejected; nothing was changed", "invalid_import")
    assert apart.value.details == here.value.details
    assert {d["file"] for d in apart.value.details} == {"bad.yaml"} and len(apart.value.details) >= 3


def test_a_broken_pool_reads_the_import_in_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = BrokenPool()
    monkeypatch.setattr(apart.POOL, "executor", broken)
    data = _stream(100, "fallback")
    prepared = exchange.prepare_import(data, format="yaml", name="fallback.yaml")
    assert len(prepared.entries) == 100 and prepared.digests is not None
    assert apart.POOL.executor is not broken  # forgotten: the items' check started new processes
