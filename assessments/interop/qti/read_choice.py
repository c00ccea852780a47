"""Choice and inline choice interactions as single choice, true/false or multiple response.

The key is what the item's processing rewards, found by running it on every option (single) or on
the selections the item itself names (multiple: the correct response, the mapping, the literal
selections in its processing). A single choice whose two options read True and False is a
true/false item. Multiple response scoring is read by running every selection (or a spread of
them when there are many options) and choosing the Assay method that scores them all the same;
where none does, the nearest one is used and the note says what differs. Feedback that one
option shows becomes that option's feedback; feedback that every response shows, the solution.
"""

from __future__ import annotations

import itertools
from typing import Any
from xml.etree.ElementTree import Element

from assessments.interop.qti.reading import (
    EPSILON,
    FULL,
    Feedback,
    ImportProblem,
    ItemContext,
    misconception,
    misconception_name,
)
from assessments.interop.qti.values import Container

__all__ = ["read_choice", "read_inline_choice"]

ENUMERATE_UP_TO = 10
"""Multiple response with at most this many options has every selection scored."""
_TRUE_FALSE = {"true": True, "false": False}


def _choices(context: ItemContext, tag: str) -> list[Element]:
    choices = [c for c in context.interaction if c.tag == tag]
    context.check_count(len(choices))
    return choices


def _texts(feedback: list[Feedback], minus: list[Feedback]) -> str:
    return "\n\n".join(f.text for f in feedback if f not in minus)


def _solution(context: ItemContext, candidates: list[Any], definition: dict[str, Any]) -> list[Feedback]:
    common = context.solution(candidates) if len(candidates) > 1 else []
    if common:
        definition["solution"] = "\n\n".join(f.text for f in common)
    return common


def _single_scoring(context: ItemContext, fractions: list[float], texts: list[str], right: int) -> dict[str, Any]:
    """Negative marking from what wrong options score; partial credit has no place in a single choice."""
    partial = [texts[n] for n, f in enumerate(fractions) if EPSILON < f < FULL]
    if partial:
        context.notes.append(f"partial credit for {', '.join(map(repr, partial))} dropped: an Assay single "
                             "choice is right or wrong")
    wrong = {round(f, 9) for n, f in enumerate(fractions) if n != right}
    if len(wrong) == 1 and (negative := -wrong.pop()) > EPSILON:
        return {"negative": min(negative, 1.0)}
    if any(f < -EPSILON for f in fractions):
        context.notes.append("negative marks that differ between options dropped")
    return {}


def _true_false(texts: list[str], right: int, feedback: list[str]) -> dict[str, Any] | None:
    """A choice between True and False, as a true/false item (None for any other pair)."""
    words = [t.strip().lower().rstrip(".") for t in texts]
    if sorted(words) != ["false", "true"]:
        return None
    found: dict[str, Any] = {"type": "true_false", "answer": _TRUE_FALSE[words[right]]}
    found.update({f"feedback_{word}": text for word, text in zip(words, feedback, strict=True) if text})
    return found


def _single(context: ItemContext, choices: list[Element], stem: str, shuffle: bool) -> dict[str, Any]:
    ids = [c.get("identifier", "") for c in choices]
    if context.response.cardinality == "multiple":  # one choice allowed, kept in a container
        responses: list[Any] = [Container("multiple", (i,)) for i in ids]
    else:
        responses = list(ids)
    full = context.full_marks(responses)
    fractions = [context.score(r) / full for r in responses]
    right = [n for n, f in enumerate(fractions) if f >= FULL]
    if len(right) != 1:
        raise ImportProblem(f"{len(right)} options earn full marks; a single-choice item has exactly one "
                            "right option", context.interaction)
    texts = [context.text(c) for c in choices]
    definition: dict[str, Any] = {"type": "single_choice", "stem": stem}
    scoring = _single_scoring(context, fractions, texts, right[0])
    if scoring:
        definition["scoring"] = scoring
    common = _solution(context, responses, definition)
    option_feedback = [_texts(context.feedback(r), common) for r in responses]
    definition["max_mark"] = full
    true_false = _true_false(texts, right[0], option_feedback)
    if true_false is not None:
        return {**definition, **true_false}
    options = []
    for n, (choice, text) in enumerate(zip(choices, texts, strict=True)):
        option: dict[str, Any] = {"text": text, "correct": n == right[0]}
        if option_feedback[n]:
            option["feedback"] = option_feedback[n]
        if shuffle and choice.get("fixed") == "true":
            option["fixed"] = True
        options.append(option)
    return {**definition, "options": options, "shuffle": shuffle}


def _selection_candidates(context: ItemContext, ids: list[str]) -> list[Container]:
    """Selections the item itself names: its correct response, its mapping, its literal sets."""
    found: list[Container] = []
    if isinstance(context.response.correct, Container):
        found.append(context.response.correct)
    mapping = context.response.mapping
    if mapping is not None:
        positive = tuple(k for k, v, _ in mapping.entries if v > 0 and k in ids)
        if positive:
            found.append(Container("multiple", positive))
    rules = context.processor.rules
    for literal in (rules.iter("multiple") if rules is not None else ()):
        values = tuple(b.text.strip() for b in literal if b.tag == "baseValue" and b.text)
        if values and all(v in ids for v in values) and len(values) == len(literal):
            found.append(Container("multiple", values))
    return list(dict.fromkeys(found))


def _selections(ids: list[str], key: set[str]) -> list[tuple[str, ...]]:
    if len(ids) <= ENUMERATE_UP_TO:
        return [s for r in range(1, len(ids) + 1) for s in itertools.combinations(ids, r)]
    wrong = [i for i in ids if i not in key]
    spread = {tuple(sorted(key))}
    spread |= {(i,) for i in ids} | {tuple(sorted(key - {k})) for k in key if len(key) > 1}
    spread |= {tuple(sorted(key | {w})) for w in wrong} | {tuple(ids)}
    return sorted(spread)


_METHODS = (("all_or_nothing", True, False), ("partial", True, False), ("partial", False, False),
            ("partial", True, True))


def _assay_fraction(method: tuple[str, bool, bool], selected: set[str], key: set[str], count: int) -> float:
    name, penalty, allow_negative = method
    if name == "all_or_nothing":
        return 1.0 if selected == key else 0.0
    hits, wrong = len(selected & key), len(selected - key)
    earned = hits / len(key) - (wrong / (count - len(key)) if penalty and count > len(key) else 0.0)
    return min(max(earned, -1.0 if allow_negative else 0.0), 1.0)


def _multiple_scoring(context: ItemContext, ids: list[str], key: set[str], full: float) -> dict[str, Any]:
    """The Assay method that scores the selections as the item's processing does (or the nearest)."""
    observed = {s: context.score(Container("multiple", s)) / full for s in _selections(ids, key)}
    errors = {m: [(s, f, _assay_fraction(m, set(s), key, len(ids))) for s, f in observed.items()
                  if abs(f - _assay_fraction(m, set(s), key, len(ids))) > 1e-6] for m in _METHODS}
    method = min(_METHODS, key=lambda m: (len(errors[m]), _METHODS.index(m)))
    if errors[method]:
        selection, qti, assay = errors[method][0]
        context.notes.append(f"scoring approximated as {method[0]}: QTI scores {len(errors[method])} of "
                             f"{len(observed)} selections otherwise (e.g. {', '.join(selection)}: {qti:.3g} in "
                             f"QTI, {assay:.3g} here)")
    name, penalty, allow_negative = method
    if name != "partial":
        return {"method": name}
    return {"method": name, "wrong_selection_penalty": penalty, **({"allow_negative": True} if allow_negative else {})}


def _option_feedback(context: ItemContext, ids: list[str], common: list[Feedback]) -> list[str]:
    """Feedback an option brings to any selection it is in, and takes away when it is left out."""
    every = context.feedback(Container("multiple", tuple(ids)))
    found = []
    for identifier in ids:
        without = context.feedback(Container("multiple", tuple(i for i in ids if i != identifier)))
        own = [f for f in context.feedback(Container("multiple", (identifier,)))
               if f in every and f not in without and f not in common]
        found.append("\n\n".join(f.text for f in own))
    return found


def _selection_misconceptions(context: ItemContext, ids: list[str], key: set[str],
                              candidates: list[Container]) -> dict[str, Any]:
    """Misconceptions an Assay export names, each with the selection that shows its feedback."""
    found: dict[str, Any] = {}
    for candidate in candidates:
        if set(candidate.items) == key:
            continue
        for feedback in context.feedback(candidate):
            name = misconception_name(feedback)
            if name and name not in found:
                chosen = " or ".join(f"i == {ids.index(i)}" for i in candidate.items)
                found[name] = misconception(feedback, name, selects=chosen)
    return found


def _multiple(context: ItemContext, choices: list[Element], stem: str, shuffle: bool) -> dict[str, Any]:
    ids = [c.get("identifier", "") for c in choices]
    candidates = _selection_candidates(context, ids)
    full = context.full_marks(candidates)
    keys = {frozenset(c.items) for c in candidates if context.score(c) / full >= FULL}
    if len(keys) != 1:
        raise ImportProblem(f"{len(keys)} different selections earn full marks; a multiple-response item has "
                            "exactly one right selection", context.interaction)
    key = set(next(iter(keys)))
    if len(key) == len(ids):
        raise ImportProblem("every option is right; Assay needs at least one wrong option", context.interaction)
    definition: dict[str, Any] = {"type": "multiple_response", "stem": stem,
                                  "scoring": _multiple_scoring(context, ids, key, full), "max_mark": full}
    singles = [Container("multiple", (i,)) for i in ids]
    every = Container("multiple", tuple(ids))
    common = _solution(context, [Container("multiple", tuple(sorted(key))), *singles, every], definition)
    options = []
    for choice, identifier, feedback in zip(choices, ids, _option_feedback(context, ids, common), strict=True):
        option: dict[str, Any] = {"text": context.text(choice), "correct": identifier in key}
        if feedback:
            option["feedback"] = feedback
        if shuffle and choice.get("fixed") == "true":
            option["fixed"] = True
        options.append(option)
    definition.update(options=options, shuffle=shuffle)
    misconceptions = _selection_misconceptions(context, ids, key, candidates)
    if misconceptions:
        definition["misconceptions"] = misconceptions
    return definition


def _shuffles(interaction: Element, choices: list[Element]) -> bool:
    """Whether options shuffle: the interaction says so and at least one option may move."""
    return interaction.get("shuffle", "false") == "true" and not all(c.get("fixed") == "true" for c in choices)


def read_choice(context: ItemContext) -> dict[str, Any]:
    interaction = context.interaction
    choices = _choices(context, "simpleChoice")
    shuffle = _shuffles(interaction, choices)
    stem = context.stem()
    cardinality = context.response.cardinality
    if cardinality == "multiple" and interaction.get("maxChoices") != "1":
        return _multiple(context, choices, stem, shuffle)
    if cardinality not in {"single", "multiple"}:
        raise ImportProblem(f"a choice interaction with {cardinality} cardinality", interaction)
    return _single(context, choices, stem, shuffle)


def read_inline_choice(context: ItemContext) -> dict[str, Any]:
    choices = _choices(context, "inlineChoice")
    context.notes.append("the inline choice becomes a single choice; its place in the text is a blank")
    return _single(context, choices, context.stem(), _shuffles(context.interaction, choices))

