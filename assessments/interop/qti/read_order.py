"""Order interactions as ordering items, match interactions as matching items.

Ordering: the key is the sequence that earns full marks (the correct response, or an order the
processing names); options keep their authored order and carry their place in the key as a
constant ``rank`` (none when they are authored in the right order). The scoring method is the one
of Assay's four that scores every permutation the way the item's processing does (all of them up
to :data:`PERMUTE_UP_TO` options, a fixed spread beyond); where none does, the nearest is used and
the note says so.

Matching: the first match set holds the prompts, the second the answers; each prompt needs
exactly one right answer, and no answer may be right for two prompts (Assay pairs every prompt with
its own answer). Answers no prompt needs are distractors. Partial or all-or-nothing credit is
read by running responses with every combination of right and wrong prompts.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import numpy as np

from assessments.interop.qti.reading import FULL, ImportProblem, ItemContext, misconception, misconception_name
from assessments.interop.qti.values import Container
from engine.items.base import MAX_OPTIONS
from engine.qtypes.ordering import score_orders

__all__ = ["read_match", "read_order"]

PERMUTE_UP_TO = 6
_ORDER_METHODS = ("all_or_nothing", "absolute_position", "adjacent_pairs", "relative_to_correct")


def _permutations(ids: list[str], key: list[str]) -> list[tuple[str, ...]]:
    if len(ids) <= PERMUTE_UP_TO:
        return list(itertools.permutations(ids))
    spread = {tuple(key), tuple(reversed(key))}
    for n in range(len(key) - 1):
        swapped = list(key)
        swapped[n], swapped[n + 1] = swapped[n + 1], swapped[n]
        spread.add(tuple(swapped))
    shuffler = random.Random(0)  # noqa: S311 - a fixed spread of orders, not a secret
    while len(spread) < 200:
        order = list(ids)
        shuffler.shuffle(order)
        spread.add(tuple(order))
    return sorted(spread)


def _ordered_candidates(context: ItemContext, ids: list[str]) -> list[Container]:
    """Complete orders the item names: its correct response and the orders in its processing."""
    correct = context.response.correct
    found = []
    if isinstance(correct, Container):
        if sorted(correct.items) != sorted(ids):
            raise ImportProblem(f"the correct response orders {len(correct.items)} of the {len(ids)} choices; "
                                "an Assay ordering item orders them all", context.interaction)
        found.append(correct)
    rules = context.processor.rules
    for literal in (rules.iter("ordered") if rules is not None else ()):
        values = tuple((b.text or "").strip() for b in literal if b.tag == "baseValue")
        if sorted(values) == sorted(ids):
            found.append(Container("ordered", values))
    return list(dict.fromkeys(found))


def _order_method(context: ItemContext, ids: list[str], key: list[str], full: float) -> str:
    """The Assay method that scores the orders as the item's processing does (or the nearest)."""
    orders = _permutations(ids, key)
    observed = np.array([context.score(Container("ordered", o)) / full for o in orders])
    placed = np.array([[ids.index(i) for i in o] for o in orders])
    right = np.tile([ids.index(i) for i in key], (len(orders), 1))
    errors = {m: int(np.sum(np.abs(score_orders(m, placed, right) - observed) > 1e-6)) for m in _ORDER_METHODS}
    method = min(_ORDER_METHODS, key=lambda m: (errors[m], _ORDER_METHODS.index(m)))
    if errors[method]:
        context.notes.append(f"scoring approximated as {method}: QTI scores {errors[method]} of {len(orders)} "
                             "orders otherwise")
    return method


def _order_misconceptions(context: ItemContext, ids: list[str], key: list[str],
                          candidates: list[Container]) -> dict[str, Any]:
    """Misconceptions an Assay export names, each sorting the options into the order that shows it."""
    found: dict[str, Any] = {}
    for candidate in candidates:
        if list(candidate.items) == key:
            continue
        for feedback in context.feedback(candidate):
            name = misconception_name(feedback)
            if name and name not in found:
                places = [list(candidate.items).index(i) for i in ids]
                found[name] = misconception(feedback, name, order_by=f"{places}[i]")
    return found


def read_order(context: ItemContext) -> dict[str, Any]:
    interaction = context.interaction
    choices = [c for c in interaction if c.tag == "simpleChoice"]
    ids = [c.get("identifier", "") for c in choices]
    context.check_count(len(ids))
    limit = interaction.get("maxChoices")
    if limit not in (None, "0") and int(limit) < len(ids):
        raise ImportProblem(f"the interaction orders only {limit} of its {len(ids)} choices; an Assay "
                            "ordering item orders them all", interaction)
    candidates = _ordered_candidates(context, ids)
    full = context.full_marks(candidates)
    keys = [list(c.items) for c in candidates if context.score(c) / full >= FULL]
    if not keys:
        raise ImportProblem("no complete order earns full marks", interaction)
    key = keys[0]
    method = _order_method(context, ids, key, full)
    if interaction.get("shuffle", "false") != "true":
        context.notes.append("an Assay ordering item always shuffles its options")
    if any(c.get("fixed") == "true" for c in choices):
        context.notes.append("fixed positions in the order are not kept")
    # Options keep their authored order; a constant rank says where each belongs (always: the
    # checker refuses an ordering item whose listed order would silently be its key).
    options = [{"text": context.text(c), "rank": str(key.index(i))} for c, i in zip(choices, ids, strict=True)]
    definition: dict[str, Any] = {"type": "ordering", "stem": context.stem(), "options": options,
                                  "order": "ascending", "scoring": {"method": method}, "max_mark": full}
    common = context.solution([Container("ordered", tuple(key)), Container("ordered", tuple(reversed(key)))])
    if common:
        definition["solution"] = "\n\n".join(f.text for f in common)
    misconceptions = _order_misconceptions(context, ids, key, candidates)
    if misconceptions:
        definition["misconceptions"] = misconceptions
    return definition


def _pairs(context: ItemContext, sources: list[str], targets: dict[str, str]) -> dict[str, str]:
    """Each prompt's one right answer, from the correct response (or the mapping's rewarded pairs)."""
    correct = context.response.correct
    pairs: list[tuple[str, str]] = []
    if isinstance(correct, Container):
        pairs = [p for p in correct.items if isinstance(p, tuple)]
    elif context.response.mapping is not None:
        pairs = [k for k, v, _ in context.response.mapping.entries if v > 0 and isinstance(k, tuple)]
    answer_of: dict[str, str] = {}
    for first, second in pairs:
        source, target = (second, first) if first not in sources and second in sources else (first, second)
        if source in answer_of:
            raise ImportProblem(f"prompt {source!r} has more than one right answer; an Assay matching item "
                                "pairs each prompt with one answer", context.interaction)
        answer_of[source] = target
    missing = [s for s in sources if s not in answer_of]
    if missing:
        raise ImportProblem(f"prompt {missing[0]!r} has no right answer (a survey?); an Assay matching item "
                            "pairs each prompt with one answer", context.interaction)
    used = list(answer_of.values())
    for target in dict.fromkeys(used):
        if used.count(target) > 1:
            raise ImportProblem(f"answer {targets.get(target, target)!r} ({target}) is right for {used.count(target)} "
                                "prompts; an Assay matching item gives each prompt its own answer",
                                context.interaction)
    return answer_of


def _match_method(context: ItemContext, answer_of: dict[str, str], target_ids: list[str], full: float) -> str:
    """Partial or all-or-nothing, from responses with every mix of right and wrong prompts."""
    sources = list(answer_of)
    observed, expected = [], []
    for pattern in itertools.product([True, False], repeat=min(len(sources), 10)):
        response, hits = [], 0
        for n, source in enumerate(sources):
            target = answer_of[source]
            if n < len(pattern) and not pattern[n]:
                target = next(t for t in [*target_ids[target_ids.index(target) + 1:], *target_ids] if t != target)
            hits += target == answer_of[source]
            response.append((source, target))
        observed.append(context.score(Container("multiple", tuple(response))) / full)
        expected.append(hits / len(sources))
    partial = all(abs(o - e) < 1e-6 for o, e in zip(observed, expected, strict=True))
    nothing = all(abs(o - (1.0 if e == 1 else 0.0)) < 1e-6 for o, e in zip(observed, expected, strict=True))
    if not partial and not nothing:
        context.notes.append("scoring approximated as partial: QTI weighs the pairs differently")
    return "all_or_nothing" if nothing and not partial else "partial"


def _distractors(context: ItemContext, right: Container, target_ids: list[str], answer_of: dict[str, str],
                 texts: dict[str, str], misconceptions: dict[str, Any]) -> list[Any]:
    """Answers no prompt needs; one whose choice shows an Assay misconception's feedback names it."""
    found: list[Any] = []
    for target in target_ids:
        if target in answer_of.values():
            continue
        wrong = Container("multiple", ((right.items[0][0], target), *right.items[1:]))
        feedback = next((f for f in context.feedback(wrong) if misconception_name(f)), None)
        name = misconception_name(feedback) if feedback is not None else None
        if feedback is not None and name:
            misconceptions[name] = misconception(feedback, name)
            found.append({"text": texts[target], "misconception": name})
        else:
            found.append(texts[target])
    return found


def read_match(context: ItemContext) -> dict[str, Any]:
    interaction = context.interaction
    sets = [s for s in interaction if s.tag == "simpleMatchSet"]
    if len(sets) != 2:
        raise ImportProblem("a match interaction needs two match sets", interaction)
    sources = [c for c in sets[0] if c.tag == "simpleAssociableChoice"]
    targets = [c for c in sets[1] if c.tag == "simpleAssociableChoice"]
    context.check_count(len(sources), "prompts")
    source_ids = [c.get("identifier", "") for c in sources]
    target_ids = [c.get("identifier", "") for c in targets]
    texts = {c.get("identifier", ""): context.text(c) for c in targets[:MAX_OPTIONS]}
    answer_of = _pairs(context, source_ids, texts)
    context.check_count(len(targets), "answers")
    right = Container("multiple", tuple((s, answer_of[s]) for s in source_ids))
    full = context.full_marks([right])
    pairs = [{"prompt": context.text(c), "answer": texts[answer_of[i]]}
             for c, i in zip(sources, source_ids, strict=True)]
    misconceptions: dict[str, Any] = {}
    definition: dict[str, Any] = {
        "type": "matching", "stem": context.stem(), "pairs": pairs,
        "scoring": {"method": _match_method(context, answer_of, target_ids, full)}, "max_mark": full,
        "shuffle": interaction.get("shuffle", "false") == "true",
    }
    distractors = _distractors(context, right, target_ids, answer_of, texts, misconceptions)
    if distractors:
        definition["distractors"] = distractors
    if misconceptions:
        definition["misconceptions"] = misconceptions
    common = context.solution([right, Container("multiple", ((source_ids[0], target_ids[-1]),))])
    if common:
        definition["solution"] = "\n\n".join(f.text for f in common)
    return definition
