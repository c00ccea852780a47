"""QTI template items (randomised values) as one fixed variant, the way Assay exports its own.

A QTI item with ``templateProcessing`` draws its numbers per candidate, much as an Assay item does
from its parameters; but QTI's template language is not Assay's expression language, so the
importer does what Assay's exporter does in the other direction: it draws one variant (a fixed
seed, so the same file always imports the same way), fills the drawn values into the item body
(``printedVariable``, MathML identifiers of math variables, ``templateInline``/``templateBlock``
shown or hidden) and keeps the correct responses the processing set. The note names the values.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from assessments.interop.qti.dialect import MATHML, local_name, namespace_of
from assessments.interop.qti.operators import OPERATORS, Evaluator, Operator, Scope, numbers
from assessments.interop.qti.processing import Processor
from assessments.interop.qti.safexml import Document
from assessments.interop.qti.values import Container, Declaration, Unsupported, Value, is_null, items_of

__all__ = ["SEED", "Instantiated", "instantiate"]

SEED = 0
MAX_REPEATS = 1000
MAX_TRIES = 100
"""How often template processing is rerun until its constraints hold (QTI suggests about 100)."""


@dataclass
class Instantiated:
    """The drawn values and the declarations they changed (template variables, correct responses)."""

    values: dict[str, Value]
    declarations: dict[str, Declaration] = field(default_factory=dict)


class _Retry(Exception):
    pass


def _bound(ev: Evaluator, element: Element, name: str, values: Scope, default: str) -> float:
    text = element.get(name, default)
    try:
        return float(text)
    except ValueError:
        found = values.get(text.strip("{}"))
        if isinstance(found, int | float):
            return float(found)
        raise Unsupported(f"<{element.tag}> {name}={text!r} is not a number", ev.line(element)) from None


class _TemplateProcessor(Processor):
    """Template rules and the random operators, on top of the response-processing evaluator."""

    def __init__(self, document: Document, declarations: dict[str, Declaration], rules: Element,
                 rng: random.Random) -> None:
        super().__init__(document, declarations, rules)
        self.rng = rng

    def evaluate(self, element: Element, values: Scope) -> Value:
        operator = _RANDOM.get(element.tag)
        if operator is not None:
            return operator(self, element, values)
        return super().evaluate(element, values)

    def run_template(self, values: Scope) -> None:
        assert self.rules is not None
        self._template_rules(list(self.rules), values)

    def _template_rules(self, rules: list[Element], values: Scope) -> None:
        for rule in rules:
            tag = rule.tag
            if tag == "setTemplateValue":
                self._set(rule.get("identifier", ""), self.evaluate(rule[0], values), values)
            elif tag in {"setCorrectResponse", "setDefaultValue"}:
                declared = self.declared(rule)
                value = _as_declared(self.evaluate(rule[0], values), declared)
                setattr(declared, "correct" if tag == "setCorrectResponse" else "default", value)
            elif tag == "templateConstraint" and self.evaluate(rule[0], values) is not True:
                raise _Retry
            elif tag == "templateCondition":
                self._condition(rule, values)
            elif tag == "exitTemplate":
                return
            elif tag != "templateConstraint":
                raise self.unsupported(rule)

    def _condition(self, rule: Element, values: Scope) -> None:
        for branch in rule:
            if branch.tag == "templateElse":
                self._template_rules(list(branch), values)
                return
            if len(branch) and self.evaluate(branch[0], values) is True:
                self._template_rules(list(branch)[1:], values)
                return


def _as_declared(value: Value, declared: Declaration) -> Value:
    if declared.cardinality != "single" and not isinstance(value, Container) and not is_null(value):
        return Container(declared.cardinality, (value,))
    return value


def _random_integer(ev: Evaluator, e: Element, v: Scope) -> Value:
    rng: random.Random = getattr(ev, "rng")  # noqa: B009 - only the template processor has one
    low, high = int(_bound(ev, e, "min", v, "0")), int(_bound(ev, e, "max", v, "0"))
    step = max(int(_bound(ev, e, "step", v, "1")), 1)
    return rng.randrange(low, high + 1, step)


def _random_float(ev: Evaluator, e: Element, v: Scope) -> Value:
    rng: random.Random = getattr(ev, "rng")  # noqa: B009 - only the template processor has one
    return rng.uniform(_bound(ev, e, "min", v, "0"), _bound(ev, e, "max", v, "1"))


def _random(ev: Evaluator, e: Element, v: Scope) -> Value:
    rng: random.Random = getattr(ev, "rng")  # noqa: B009 - only the template processor has one
    (container,) = ev.args(e, v)
    return None if is_null(container) else rng.choice(items_of(container))


_MATH: dict[str, Callable[[float], float]] = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh, "exp": math.exp, "log": math.log10, "ln": math.log,
    "abs": abs, "floor": math.floor, "ceil": math.ceil, "toDegrees": math.degrees, "toRadians": math.radians,
    "signum": lambda x: float((x > 0) - (x < 0)), "sec": lambda x: 1 / math.cos(x), "csc": lambda x: 1 / math.sin(x),
    "cot": lambda x: 1 / math.tan(x),
}
_STATS = {"mean": statistics.mean, "sampleVariance": statistics.variance, "sampleSD": statistics.stdev,
          "popVariance": statistics.pvariance, "popSD": statistics.pstdev}


def _math_operator(ev: Evaluator, e: Element, v: Scope) -> Value:
    found = numbers(ev.args(e, v))
    name = e.get("name", "")
    if found is None:
        return None
    if name == "atan2":
        return math.atan2(found[0], found[1])
    if name not in _MATH:
        raise Unsupported(f"the math operator {name!r} is not supported", ev.line(e))
    return float(_MATH[name](found[0]))


def _stats_operator(ev: Evaluator, e: Element, v: Scope) -> Value:
    found = numbers(ev.args(e, v))
    name = e.get("name", "")
    if found is None or name not in _STATS or len(found) < 2:
        return None
    return float(_STATS[name](found))


def _gcd(ev: Evaluator, e: Element, v: Scope) -> Value:
    found = numbers(ev.args(e, v))
    return None if found is None else math.gcd(*(int(x) for x in found))


def _lcm(ev: Evaluator, e: Element, v: Scope) -> Value:
    found = numbers(ev.args(e, v))
    return None if found is None else math.lcm(*(int(x) for x in found))


def _repeat(ev: Evaluator, e: Element, v: Scope) -> Value:
    times = min(int(_bound(ev, e, "numberRepeats", v, "1")), MAX_REPEATS)
    items: list[Value] = []
    for _ in range(times):
        for value in ev.args(e, v):
            items.extend(items_of(value) if not is_null(value) else ())
    return Container("ordered", tuple(items)) if items else None


_RANDOM: dict[str, Operator] = {
    "randomInteger": _random_integer,
    "randomFloat": _random_float,
    "random": _random,
    "mathOperator": _math_operator,
    "mathConstant": lambda _ev, e, _v: math.pi if e.get("name") == "pi" else math.e,
    "statsOperator": _stats_operator,
    "gcd": _gcd,
    "lcm": _lcm,
    "repeat": _repeat,
}
assert not set(_RANDOM) & set(OPERATORS)


def printed(value: Value, format_: str | None = None) -> str:
    """A template value as a candidate would read it."""
    if is_null(value):
        return ""
    if isinstance(value, Container):
        return ", ".join(printed(v, format_) for v in value.items)
    if format_ and isinstance(value, int | float):
        try:
            return format_ % value
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _fill(document: Document, values: dict[str, Value], math_variables: set[str]) -> None:
    """Write the drawn values into the item's content."""
    for parent in list(document.root.iter()):
        for index, child in enumerate(list(parent)):
            tag = child.tag
            if tag == "printedVariable":
                text = printed(values.get(child.get("identifier", "")), child.get("format"))
                replacement = Element("span")
                replacement.text, replacement.tail = text, child.tail
                parent[index] = replacement
            elif tag in {"templateInline", "templateBlock"}:
                current = values.get(child.get("templateIdentifier", ""))
                named = child.get("identifier", "") in items_of(current) if not is_null(current) else False
                if named != (child.get("showHide", "show") == "show"):
                    child.clear()  # hidden: nothing of it stays
                child.tag = "span" if tag == "templateInline" else "div"
            elif namespace_of(tag) == MATHML and local_name(tag) in {"mi", "ci"}:
                name = (child.text or "").strip()
                if name in math_variables:
                    child.tag = f"{{{MATHML}}}mn"
                    child.text = printed(values[name])


def instantiate(document: Document, declarations: dict[str, Declaration]) -> Instantiated:
    """Run ``templateProcessing`` once (seeded), fill the values in; ``declarations`` gain the template
    variables and any correct response or default the processing set."""
    root = document.root
    templates = {d.get("identifier", ""): Declaration.read(d) for d in root if d.tag == "templateDeclaration"}
    rules = next(e for e in root if e.tag == "templateProcessing")
    every = {**declarations, **templates}
    rng = random.Random(SEED)  # noqa: S311 - a reproducible draw, not a secret
    processor = _TemplateProcessor(document, every, rules, rng)
    for _ in range(MAX_TRIES):
        values: Scope = {name: d.initial for name, d in templates.items()}
        try:
            processor.run_template(values)
            break
        except _Retry:
            continue
    else:
        raise Unsupported(f"the template constraints were not met in {MAX_TRIES} draws", document.line(rules))
    drawn = {name: values.get(name) for name in templates}
    for name, value in drawn.items():
        templates[name].default = value
    math_variables = {name for name, d in templates.items() if d.attrs.get("mathVariable") == "true"}
    _fill(document, drawn, math_variables)
    return Instantiated(drawn, templates)
