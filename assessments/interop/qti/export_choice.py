"""Single choice, true/false and multiple response as ``choiceInteraction``.

Options leave in their authored order (QTI shuffles where the item shuffles; a ``fixed`` option
keeps its place). A single choice scores its marks for the right option and takes its negative
mark for a wrong one; the feedback of each option, with the misconception feedback that option
triggers, is the modal feedback named by the option, exactly as the question type grades it.
Multiple response maps each right option to 1/R of the marks and each wrong one to −1/W (with
Assay's wrong-selection penalty), bounded to the mark range: Moodle's partial credit, which is
what Assay scores.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from assessments.interop.qti import rp
from assessments.interop.qti.parts import (
    FEEDBACK,
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
from engine.items import MultipleResponseItem, SingleChoiceItem, TrueFalseItem
from engine.qtypes import Grade, qtype_for
from engine.qtypes.common import misconception_feedback, render_text
from engine.variants import Variant

__all__ = ["multiple_response", "single_choice"]


def _choices(ids: list[str], texts: list[str], fixed: list[bool], *, shuffle: bool, max_choices: int) -> Element:
    interaction = Element("choiceInteraction", {"responseIdentifier": RESPONSE, "shuffle": flag(shuffle),
                                                "maxChoices": str(max_choices)})
    for identifier, text, keep in zip(ids, texts, fixed, strict=True):
        choice(interaction, "simpleChoice", identifier, text, **({"fixed": "true"} if keep else {}))
    return interaction


def single_choice(item: SingleChoiceItem | TrueFalseItem, variant: Variant) -> Parts:
    qtype = qtype_for(item)
    graded: dict[str, Grade]
    if isinstance(item, TrueFalseItem):
        ids, texts, fixed = ["true", "false"], ["True", "False"], [True, True]
        right = "true" if bool(variant.key["answer"][0]) else "false"
        graded = {"true": qtype.grade(item, variant, response=True),
                  "false": qtype.grade(item, variant, response=False)}
        shuffle = False
    else:
        assert variant.order is not None
        texts = authored_texts(variant, qtype.render(item, variant)["options"])
        ids = option_ids(len(texts))
        right = ids[variant.order[qtype.correct_response(item, variant)["choice"]]]
        graded = {ids[authored]: qtype.grade(item, variant, position)
                  for position, authored in enumerate(variant.order)}
        fixed = [o.fixed for o, _, _ in item.options.expand()]
        shuffle = item.shuffle
    max_mark = item.max_mark
    negative = item.scoring.negative * max_mark
    rules = [rp.condition([(rp.is_null(rp.variable(RESPONSE)), [set_score(0)]),
                           (rp.match(rp.variable(RESPONSE), rp.correct(RESPONSE)), [set_score(max_mark)])],
                          otherwise=[set_score(-negative)])]
    feedback = {i: ("", "\n\n".join(g.feedback)) for i, g in graded.items() if g.feedback}
    if feedback:
        rules.append(rp.condition([(rp.not_(rp.is_null(rp.variable(RESPONSE))), [
            rp.set_outcome(FEEDBACK, rp.multiple(rp.variable(RESPONSE)))])]))
    template = "match_correct" if max_mark == 1 and negative == 0 else None
    interaction = _choices(ids, texts, fixed, shuffle=shuffle, max_choices=1)
    return Parts(declaration("single", "identifier", [right]), [interaction], rules, template, feedback)


def multiple_response(item: MultipleResponseItem, variant: Variant) -> Parts:
    qtype = qtype_for(item)
    texts = authored_texts(variant, qtype.render(item, variant)["options"])
    ids = option_ids(len(texts))
    correct = [bool(c) for c in variant.key["correct"][0]]
    declared = declaration("multiple", "identifier", [i for i, c in zip(ids, correct, strict=True) if c])
    expanded = item.options.expand()
    interaction = _choices(ids, texts, [o.fixed for o, _, _ in expanded], shuffle=item.shuffle, max_choices=0)
    max_mark = item.max_mark
    if item.scoring.method == "all_or_nothing":
        template = "match_correct"
        scoring = rp.condition([(rp.match(rp.variable(RESPONSE), rp.correct(RESPONSE)), [set_score(max_mark)])],
                               otherwise=[set_score(0)])
    else:
        template = "map_response"
        right, wrong = sum(correct), len(correct) - sum(correct)
        penalty = item.scoring.wrong_selection_penalty
        entries = [(i, max_mark / right if c else -max_mark / wrong)
                   for i, c in zip(ids, correct, strict=True) if c or penalty]
        mapping(declared, entries, lower=-max_mark if item.scoring.allow_negative else 0.0, upper=max_mark)
        scoring = rp.condition([(rp.is_null(rp.variable(RESPONSE)), [set_score(0)])],
                               otherwise=[rp.set_outcome(SCORE, rp.map_response(RESPONSE))])
    rules = [scoring]
    feedback: dict[str, tuple[str, str]] = {}
    for identifier, (option, binding, _) in zip(ids, expanded, strict=True):
        if option.feedback:
            feedback[identifier] = ("", render_text(option.feedback, variant, binding))
    if feedback:
        rules.append(rp.condition([(rp.not_(rp.is_null(rp.variable(RESPONSE))), [
            rp.set_outcome(FEEDBACK, rp.variable(RESPONSE))])]))
    # A misconception names the exact selection it leads to; the first that matches speaks.
    table = variant.key["misconceptions"][0]
    branches: list[rp.Branch] = []
    for m, name in enumerate(item.misconceptions):
        chosen = [ids[k] for k in range(len(ids)) if table[m, k]]
        if chosen and [bool(x) for x in table[m]] != correct:
            feedback[misconception_id(name)] = misconception_feedback(item, name, variant)
            selection = rp.multiple(*(rp.base("identifier", c) for c in chosen))
            branches.append((rp.match(rp.variable(RESPONSE), selection), [add_feedback(misconception_id(name))]))
    if branches:
        rules.append(rp.condition(branches))
    return Parts(declared, [interaction], rules, template, feedback)
