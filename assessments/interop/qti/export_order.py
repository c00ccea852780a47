"""Ordering as ``orderInteraction`` and matching as ``matchInteraction``.

Ordering: the correct response is the variant's right sequence. All-or-nothing is QTI's
``match_correct``; Assay's partial methods (absolute position, adjacent pairs, relative to
correct) count points with ``index`` over the ordered response into a ``POINTS`` outcome and scale
it to the marks, so another QTI player scores exactly as Assay does.

Matching: the first match set holds the prompts (fixed in place, one answer each), the second the
answer pool (each pair's answer, then the distractors). Partial credit maps every right pair to
1/N of the marks; all-or-nothing is ``match_correct``. Choosing a distractor that a misconception
leads to sets that misconception's feedback, first prompt first, as Assay grades it.
"""

from __future__ import annotations

import itertools
from xml.etree.ElementTree import Element, SubElement

from assessments.interop.qti import rp
from assessments.interop.qti.parts import (
    RESPONSE,
    SCORE,
    Parts,
    add_feedback,
    authored_texts,
    choice,
    declaration,
    flag,
    mapping,
    misconception_id,
    option_ids,
    set_score,
)
from engine.items import MatchingItem, OrderingItem
from engine.qtypes import qtype_for
from engine.qtypes.common import misconception_feedback
from engine.variants import Variant

__all__ = ["matching", "ordering"]

POINTS = "POINTS"


def _at(position: int, identifier: str) -> Element:
    """The option placed at 0-based ``position`` is ``identifier``."""
    return rp.match(rp.index(rp.variable(RESPONSE), position + 1), rp.base("identifier", identifier))


def _add_points(points: int) -> Element:
    return rp.set_outcome(POINTS, rp.sum_(rp.variable(POINTS), rp.base("integer", points)))


def _point_rules(method: str, right: list[str]) -> tuple[list[Element], int]:
    """Rules that count Assay's points for ``method``, and what a full score counts."""
    count = len(right)
    rules: list[Element] = []
    if method == "absolute_position":
        rules = [rp.condition([(_at(p, identifier), [_add_points(1)])]) for p, identifier in enumerate(right)]
        return rules, count
    if method == "relative_to_correct":
        for p in range(count):
            branches: list[rp.Branch] = [
                (_at(p, identifier), [_add_points((count - 1) - abs(p - q))])
                for q, identifier in enumerate(right) if (count - 1) - abs(p - q) > 0
            ]
            if branches:
                rules.append(rp.condition(branches))
        return rules, count * (count - 1)
    # adjacent pairs: a neighbouring pair the student placed that is a neighbouring pair, in order
    pairs = list(itertools.pairwise(right))
    for p in range(count - 1):
        follows = [rp.and_(_at(p, a), _at(p + 1, b)) for a, b in pairs]
        rules.append(rp.condition([(rp.or_(*follows) if len(follows) > 1 else follows[0], [_add_points(1)])]))
    return rules, count - 1


def ordering(item: OrderingItem, variant: Variant) -> Parts:
    qtype = qtype_for(item)
    texts = authored_texts(variant, qtype.render(item, variant)["options"])
    ids = option_ids(len(texts))
    right = [ids[int(k)] for k in variant.key["sequence"][0]]
    interaction = Element("orderInteraction", {"responseIdentifier": RESPONSE, "shuffle": "true"})
    for identifier, text in zip(ids, texts, strict=True):
        choice(interaction, "simpleChoice", identifier, text)
    method = item.scoring.method or "adjacent_pairs"
    outcomes: list[Element] = []
    if method == "all_or_nothing":
        template: str | None = "match_correct"
        rules = [rp.condition([(rp.match(rp.variable(RESPONSE), rp.correct(RESPONSE)), [set_score(item.max_mark)])],
                              otherwise=[set_score(0)])]
    else:
        template = None
        counting, full = _point_rules(method, right)
        outcome = Element("outcomeDeclaration", {"identifier": POINTS, "cardinality": "single",
                                                 "baseType": "integer"})
        SubElement(SubElement(outcome, "defaultValue"), "value").text = "0"
        outcomes.append(outcome)
        scale = rp.set_outcome(SCORE, rp.product(rp.divide(rp.variable(POINTS), rp.base("float", float(full))),
                                                 rp.base("float", item.max_mark)))
        rules = [rp.condition([(rp.is_null(rp.variable(RESPONSE)), [set_score(0)])],
                              otherwise=[*counting, scale])]
    feedback: dict[str, tuple[str, str]] = {}
    branches: list[rp.Branch] = []
    for m, name in enumerate(item.misconceptions):
        sequence = [ids[int(k)] for k in variant.key["misconception_sequences"][0][m]]
        if sequence != right:
            feedback[misconception_id(name)] = misconception_feedback(item, name, variant)
            wrong_order = rp.ordered(*(rp.base("identifier", i) for i in sequence))
            branches.append((rp.match(rp.variable(RESPONSE), wrong_order), [add_feedback(misconception_id(name))]))
    if branches:
        rules.append(rp.condition(branches))
    return Parts(declaration("ordered", "identifier", right), [interaction], rules, template, feedback,
                 outcomes=outcomes)


def matching(item: MatchingItem, variant: Variant) -> Parts:
    qtype = qtype_for(item)
    shown = qtype.render(item, variant)
    prompts = [p["text"] for p in shown["prompts"]]
    pool = authored_texts(variant, shown["answers"])
    prompt_ids, pool_ids = option_ids(len(prompts), "P"), option_ids(len(pool), "A")
    right = [f"{p} {a}" for p, a in zip(prompt_ids, pool_ids, strict=False)]
    declared = declaration("multiple", "directedPair", right)
    interaction = Element("matchInteraction", {"responseIdentifier": RESPONSE, "shuffle": flag(item.shuffle),
                                               "maxAssociations": str(len(prompts))})
    sources = SubElement(interaction, "simpleMatchSet")
    for identifier, text in zip(prompt_ids, prompts, strict=True):
        choice(sources, "simpleAssociableChoice", identifier, text, matchMax="1", fixed="true")
    targets = SubElement(interaction, "simpleMatchSet")
    for identifier, text in zip(pool_ids, pool, strict=True):
        choice(targets, "simpleAssociableChoice", identifier, text, matchMax=str(len(prompts)))
    max_mark = item.max_mark
    if item.scoring.method == "all_or_nothing":
        template = "match_correct"
        scoring = rp.condition([(rp.match(rp.variable(RESPONSE), rp.correct(RESPONSE)), [set_score(max_mark)])],
                               otherwise=[set_score(0)])
    else:
        template = "map_response"
        mapping(declared, [(pair, max_mark / len(prompts)) for pair in right], lower=0.0, upper=max_mark)
        scoring = rp.condition([(rp.is_null(rp.variable(RESPONSE)), [set_score(0)])],
                               otherwise=[rp.set_outcome(SCORE, rp.map_response(RESPONSE))])
    rules = [scoring]
    feedback: dict[str, tuple[str, str]] = {}
    branches: list[rp.Branch] = []
    for prompt in prompt_ids:
        for n, distractor in enumerate(item.distractors):
            if distractor.misconception:
                identifier = misconception_id(distractor.misconception)
                feedback[identifier] = misconception_feedback(item, distractor.misconception, variant)
                pair = rp.base("directedPair", f"{prompt} {pool_ids[len(prompts) + n]}")
                branches.append((rp.member(pair, rp.variable(RESPONSE)), [add_feedback(identifier)]))
    if branches:
        rules.append(rp.condition(branches))
    return Parts(declared, [interaction], rules, template, feedback)
