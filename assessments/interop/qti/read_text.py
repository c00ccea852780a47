"""Text entry as numeric or short text, extended text as an essay.

A float or integer response is a numeric item: its key is the value that earns full marks among
those the item names (correct response, mapping, literals in its processing); its tolerance is
read from the ``equal`` that compares the response with the key, then checked by running the
processing just inside and just outside it. A string response is a short-text item: every answer
the item names (mapping keys, correct response, compared literals) is run to learn its credit and
its feedback, and a ``patternMatch`` written as literal text and ``.*`` becomes an Assay wildcard
pattern. Extended text is an essay: Assay's own exports bring back their rubric table, others get a
one-criterion rubric worth the item's marks with the scorer's rubric text as its description.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element

from assessments.interop.qti.reading import FULL, ImportProblem, ItemContext, misconception, misconception_name
from assessments.interop.qti.values import parse_value
from engine.qtypes.short_text import normalise, pattern_regex

__all__ = ["read_extended_text", "read_text_entry", "wildcard_for_regex"]

_NUMERIC = {"float", "integer"}
_STRING = {"string", "identifier"}


def _literals(context: ItemContext, base_types: set[str], *, correct: bool = True) -> list[Any]:
    """Values the item names for its response: correct response, mapping keys, compared literals."""
    found: list[Any] = []
    if correct and context.response.correct is not None:
        found.append(context.response.correct)
    if context.response.mapping is not None:
        found += [key for key, _, _ in context.response.mapping.entries]
    rules = context.processor.rules
    if rules is not None:
        for element in rules.iter("baseValue"):
            if element.get("baseType") in base_types and element.text is not None:
                try:
                    found.append(parse_value(element.text, context.response.base_type))
                except ValueError:
                    continue
    return list(dict.fromkeys(found))


def _unit(context: ItemContext) -> Element | None:
    """Assay's exports write the unit as ``<span class="unit">`` just after the interaction."""
    for parent in context.body.iter():
        children = list(parent)
        if context.interaction in children:
            after = children[children.index(context.interaction) + 1:]
            return next((e for e in after if e.tag == "span" and e.get("class") == "unit"), None)
    return None


def _tolerance(context: ItemContext) -> dict[str, float]:
    rules = context.processor.rules
    for equal in (rules.iter("equal") if rules is not None else ()):
        if not any(v.get("identifier") == context.response_id for v in equal.iter("variable")):
            continue
        mode = equal.get("toleranceMode", "exact")
        widths = [float(t) for t in equal.get("tolerance", "0").split()] or [0.0]
        if mode == "relative":
            relative = max(widths) / 100
            if relative < 1:
                return {"relative": relative}
            context.notes.append(f"a relative tolerance of {max(widths)}% is capped at 99.9%")
            return {"relative": 0.999}
        if mode == "absolute":
            return {"absolute": max(widths)}
        return {"absolute": 0.0}
    return {"absolute": 0.0}


def _check_tolerance(context: ItemContext, key: float, tolerance: dict[str, float], full: float) -> None:
    width = tolerance.get("absolute", tolerance.get("relative", 0.0) * abs(key))
    if width <= 0:
        return
    inside = all(context.score(key + s * 0.999 * width) / full >= FULL for s in (-1, 1))
    outside = all(context.score(key + s * 1.001 * width) / full < FULL for s in (-1, 1))
    if not (inside and outside):
        context.notes.append(f"the tolerance {tolerance} does not match every response the processing accepts")


def _numeric(context: ItemContext, stem: str, unit: Element | None) -> dict[str, Any]:
    candidates = [float(v) for v in _literals(context, _NUMERIC) if isinstance(v, int | float)
                  and not isinstance(v, bool)]
    full = context.full_marks(candidates)
    right = [v for v in candidates if context.score(v) / full >= FULL]
    if not right:
        raise ImportProblem("no value earns full marks", context.interaction)
    key = right[0]
    tolerance = _tolerance(context)
    _check_tolerance(context, key, tolerance, full)
    far = key + max(abs(key), 1.0) * 1000
    definition: dict[str, Any] = {"type": "numeric", "stem": stem, "answer": _number(key),
                                  "tolerance": tolerance, "max_mark": full}
    if unit is not None and (unit.text or "").strip():
        definition["unit"] = (unit.text or "").strip()
    common = context.solution([key, far])
    if common:
        definition["solution"] = "\n\n".join(f.text for f in common)
    misconceptions: dict[str, Any] = {}
    for value in candidates:
        for feedback in context.feedback(value):
            name = misconception_name(feedback)
            if name and name not in misconceptions and context.score(value) / full < FULL:
                misconceptions[name] = misconception(feedback, name, value=_number(value))
    if misconceptions:
        definition["misconceptions"] = misconceptions
    dropped = {f.text for v in (key, far) for f in context.feedback(v)} - {f.text for f in common}
    dropped -= {m.get("feedback", m["says"]) for m in misconceptions.values()}
    if dropped:
        context.notes.append("feedback on right or wrong numbers dropped (an Assay numeric item gives feedback "
                             "through its misconceptions and solution)")
    return definition


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


_LITERAL_REGEX = re.compile(r"(?:\\s\*|\\s\+|\.\*|\[(\w)(\w)\]|\\[.\\|?*+(){}\-\[\]^]|[^\\.\[\](){}*+?|^$])*")


def wildcard_for_regex(pattern: str) -> tuple[str, bool] | None:
    """An Assay ``*`` pattern (and whether it is case-sensitive) for a simple regular expression.

    Reads literal text, ``.*``, ``\\s+`` / ``\\s*`` and ``[Xx]`` case pairs (the first letter is the
    one kept), which is what Assay's own exports write; anything else (character classes,
    quantifiers) gives None.
    """
    if not _LITERAL_REGEX.fullmatch(pattern):
        return None
    out, insensitive = [], False
    for token in re.finditer(r"\\s\*|\\s\+|\.\*|\[(\w)(\w)\]|\\(.)|(.)", pattern):
        text = token.group(0)
        if text == "\\s*":
            continue
        if text == "\\s+":
            out.append(" ")
        elif text == ".*":
            out.append("*")
        elif token.group(1):
            if token.group(1).lower() != token.group(2).lower():
                return None
            insensitive = True
            out.append(token.group(1))
        else:
            out.append(token.group(3) or token.group(4))
    return " ".join("".join(out).split()), not insensitive


def _without_redundant(answers: list[dict[str, Any]], only: set[str], *, case_sensitive: bool) -> list[dict[str, Any]]:
    """Drop a literal answer (of those in ``only``) that the first wildcard pattern matching it answers
    the same way: a correct response that is a pattern with its ``*`` taken out adds nothing."""
    kept = []
    for n, answer in enumerate(answers):
        if answer["match"] in only:
            text = normalise(answer["match"], case_sensitive=case_sensitive)
            later = (a for a in answers[n + 1:] if "*" in a["match"])
            cover = next((a for a in later if pattern_regex(a["match"], case_sensitive=case_sensitive).match(text)),
                         None)
            same = ("fraction", "feedback", "misconception")
            if cover is not None and all(cover.get(k) == answer.get(k) for k in same):
                continue
        kept.append(answer)
    return kept


def _short_text(context: ItemContext, stem: str) -> dict[str, Any]:
    literals = [v for v in _literals(context, {context.response.base_type}) if isinstance(v, str) and v.strip()]
    patterns: list[tuple[str, bool]] = []
    rules = context.processor.rules
    for element in (rules.iter("patternMatch") if rules is not None else ()):
        converted = wildcard_for_regex(element.get("pattern", ""))
        if converted is None:
            context.notes.append(f"the pattern {element.get('pattern')!r} is not imported (only literal text and "
                                 "'.*' become Assay patterns)")
        else:
            patterns.append(converted)
    samples = literals + [p.replace("*", "") or "x" for p, _ in patterns]
    full = context.full_marks(samples)
    case_sensitive = any(
        context.score(text) != context.score(text.swapcase()) for text in literals if text.swapcase() != text
    ) or any(sensitive for _, sensitive in patterns)
    common = context.solution([*samples, "\u2203 no such answer \u2204"])
    answers: list[dict[str, Any]] = []
    misconceptions: dict[str, Any] = {}
    seen: set[str] = set()
    for text, sample in [(t, t) for t in literals] + [(p, p.replace("*", "") or "x") for p, _ in patterns]:
        folded = " ".join(text.split()) if case_sensitive else " ".join(text.split()).casefold()
        if folded in seen:
            continue
        seen.add(folded)
        fraction = min(max(context.score(sample) / full, 0.0), 1.0)
        shown = [f for f in context.feedback(sample) if f not in common]
        answer: dict[str, Any] = {"match": text.replace("{{", "{ {"), "fraction": round(fraction, 9)}
        named = next((f for f in shown if misconception_name(f)), None)
        if named is not None and fraction < FULL:
            name = misconception_name(named)
            assert name is not None
            answer["misconception"] = name
            misconceptions[name] = misconception(named, name)
            shown = [f for f in shown if f is not named]
        if shown:
            answer["feedback"] = "\n\n".join(f.text for f in shown)
        if fraction > 0 or len(answer) > 2:
            answers.append(answer)
    correct = context.response.correct
    compared = _literals(context, {context.response.base_type}, correct=False)
    correct_only = {correct} if isinstance(correct, str) and correct not in compared else set()
    answers = _without_redundant(answers, correct_only, case_sensitive=case_sensitive)
    definition: dict[str, Any] = {"type": "short_text", "stem": stem, "answers": answers,
                                  "case_sensitive": case_sensitive, "max_mark": full}
    if common:
        definition["solution"] = "\n\n".join(f.text for f in common)
    if misconceptions:
        definition["misconceptions"] = misconceptions
    return definition


def read_text_entry(context: ItemContext) -> dict[str, Any]:
    base_type = context.response.base_type
    if context.response.cardinality != "single":
        raise ImportProblem(f"a text entry with {context.response.cardinality} cardinality", context.interaction)
    unit = _unit(context) if base_type in _NUMERIC else None
    stem = context.stem(skip=[unit] if unit is not None else [])
    if base_type in _NUMERIC:
        return _numeric(context, stem, unit)
    if base_type in _STRING:
        return _short_text(context, stem)
    raise ImportProblem(f"a text entry of base type {base_type!r}", context.interaction)


# --- essays ---------------------------------------------------------------------------------------

_LIMITS = re.compile(r"between (\d+) and (\d+) words|at least (\d+) words|at most (\d+) words", re.IGNORECASE)


def _rubric_from_table(table: Element) -> list[dict[str, Any]]:
    criteria = []
    for body in table.iter("tbody"):
        criterion: dict[str, Any] = {"id": body.get("id", "").removeprefix("criterion-"), "levels": []}
        for row in body.iter("tr"):
            cells = [" ".join("".join(c.itertext()).split()) for c in row if c.tag in {"td", "th"}]
            kind = row.get("class", "")
            if kind == "assay-criterion":
                criterion["title"] = cells[0]
            elif kind == "assay-criterion-description":
                criterion["description"] = cells[0]
            elif kind == "assay-level" and len(cells) == 3:
                level = {"points": float(cells[1]), "label": cells[0]}
                if cells[2]:
                    level["description"] = cells[2]
                criterion["levels"].append(level)
        criteria.append(criterion)
    return criteria


def read_extended_text(context: ItemContext) -> dict[str, Any]:
    scorer = [e for e in context.body.iter("rubricBlock") if "scorer" in e.get("view", "").split()]
    limits = [e for e in context.body.iter() if e.get("class") == "assay-word-limits"]
    score = context.declarations.get("SCORE")
    maximum = float((score.attrs.get("normalMaximum") if score else None) or 1)
    definition: dict[str, Any] = {"type": "essay", "stem": context.stem(skip=limits), "max_mark": maximum}
    table = next((t for s in scorer for t in s.iter("table") if t.get("class") == "assay-rubric"), None)
    if table is not None:
        definition["rubric"] = {"criteria": _rubric_from_table(table)}
    else:
        guide = "\n\n".join(context.writer().markdown(s) for s in scorer)
        criterion: dict[str, Any] = {"id": "overall", "title": "Overall", "levels": [
            {"points": 0, "label": "No credit"}, {"points": maximum, "label": "Full credit"}]}
        if guide:
            criterion["description"] = guide
        definition["rubric"] = {"criteria": [criterion]}
        context.notes.append("the essay gets a one-criterion rubric (no credit to full credit)"
                             + (" with the scorer's guidance as its description" if guide else ""))
    solution = [d for s in scorer for d in s.iter("div") if d.get("class") == "assay-solution"]
    if solution:
        definition["solution"] = context.writer().markdown(solution[0])
    for block in limits:
        match = _LIMITS.search("".join(block.itertext()))
        if match:
            low, high, least, most = match.groups()
            response = {"min_words": int(low or least or 0)}
            if high or most:
                response["max_words"] = int(high or most)
            definition["response"] = response
    if context.scored:
        context.notes.append("the essay's response processing is not imported: a person scores it")
    return definition

