"""QTI response processing, run on candidate responses: how the importer learns what an item means.

A QTI item says what a right answer is in two places that may disagree: the declared correct
response and the response processing that actually scores. Rather than pattern-match the many
ways authors write processing, the importer runs it: :class:`Processor` evaluates an item's rules
(or the standard template it names) for a candidate response and returns the outcomes, so the key,
the partial credit, the tolerance and the feedback a response earns are read off what the item
does. The evaluator covers QTI's response-processing rules and the operators items use for
scoring (:mod:`.operators`); anything else (randomness, test-level variables, custom operators)
raises :class:`Unsupported`, naming the element and its line.
"""

from __future__ import annotations

import contextlib
import functools
from xml.etree.ElementTree import Element

from assessments.interop.qti.operators import OPERATORS, Scope
from assessments.interop.qti.safexml import Document, parse
from assessments.interop.qti.values import Declaration, Unsupported, Value

__all__ = ["Processor", "template_name", "template_rules"]

_TEMPLATES = {
    "match_correct": """<responseProcessing><responseCondition><responseIf><match><variable identifier="RESPONSE"/>
        <correct identifier="RESPONSE"/></match><setOutcomeValue identifier="SCORE"><baseValue baseType="float">1
        </baseValue></setOutcomeValue></responseIf><responseElse><setOutcomeValue identifier="SCORE"><baseValue
        baseType="float">0</baseValue></setOutcomeValue></responseElse></responseCondition></responseProcessing>""",
    "map_response": """<responseProcessing><responseCondition><responseIf><isNull><variable identifier="RESPONSE"/>
        </isNull><setOutcomeValue identifier="SCORE"><baseValue baseType="float">0</baseValue></setOutcomeValue>
        </responseIf><responseElse><setOutcomeValue identifier="SCORE"><mapResponse identifier="RESPONSE"/>
        </setOutcomeValue></responseElse></responseCondition></responseProcessing>""",
    "CC2_match_basic": """<responseProcessing><responseCondition><responseIf><match><variable identifier="RESPONSE"/>
        <correct identifier="RESPONSE"/></match><setOutcomeValue identifier="SCORE"><variable identifier="MAXSCORE"/>
        </setOutcomeValue><setOutcomeValue identifier="FEEDBACKBASIC"><baseValue baseType="identifier">correct
        </baseValue></setOutcomeValue></responseIf><responseElse><setOutcomeValue identifier="FEEDBACKBASIC">
        <baseValue baseType="identifier">incorrect</baseValue></setOutcomeValue></responseElse></responseCondition>
        </responseProcessing>""",
}
_TEMPLATES["CC2_match"] = _TEMPLATES["match_correct"]
_TEMPLATES["CC2_map_response"] = _TEMPLATES["map_response"].replace("</responseProcessing>", """
    <responseCondition><responseIf><equal toleranceMode="exact"><variable identifier="MAXSCORE"/>
    <variable identifier="SCORE"/></equal><setOutcomeValue identifier="FEEDBACK"><baseValue baseType="identifier">
    correct</baseValue></setOutcomeValue></responseIf><responseElse><setOutcomeValue identifier="FEEDBACK">
    <baseValue baseType="identifier">incorrect</baseValue></setOutcomeValue></responseElse></responseCondition>
    </responseProcessing>""")


def template_name(uri: str) -> str:
    """``.../rptemplates/match_correct.xml`` -> ``match_correct``."""
    return uri.rstrip("/").rsplit("/", 1)[-1].removesuffix(".xml")


@functools.cache
def template_rules(name: str) -> Element | None:
    """The rules of a standard response-processing template, or None for an unknown one."""
    source = _TEMPLATES.get(name)
    return None if source is None else parse(source.encode()).root


class _Exit(Exception):
    pass


class Processor:
    """Evaluates one item's response processing for candidate responses."""

    def __init__(self, document: Document, declarations: dict[str, Declaration], rules: Element | None) -> None:
        self.document = document
        self.declarations = declarations
        self.rules = rules

    def run(self, responses: Scope) -> Scope:
        """The variable values after processing ``responses`` (response id -> value)."""
        values: Scope = {"numAttempts": 1, "duration": 0.0, "completionStatus": "unknown"}
        for name, declared in self.declarations.items():
            values[name] = declared.initial
        values.update(responses)
        if self.rules is not None:
            with contextlib.suppress(_Exit):
                self._rules(list(self.rules), values)
        return values

    # --- rules -----------------------------------------------------------------------------------
    def _rules(self, rules: list[Element], values: Scope) -> None:
        for rule in rules:
            tag = rule.tag
            if tag == "setOutcomeValue":
                self._set(rule.get("identifier", ""), self.evaluate(rule[0], values), values)
            elif tag == "responseCondition":
                for branch in rule:
                    if branch.tag == "responseElse":
                        self._rules(list(branch), values)
                        break
                    if len(branch) and self.evaluate(branch[0], values) is True:
                        self._rules(list(branch)[1:], values)
                        break
            elif tag == "responseProcessingFragment":
                self._rules(list(rule), values)
            elif tag == "exitResponse":
                raise _Exit
            else:
                raise self.unsupported(rule)

    def _set(self, identifier: str, value: Value, values: Scope) -> None:
        declared = self.declarations.get(identifier)
        if declared is not None and declared.base_type == "float" and isinstance(value, int) \
                and not isinstance(value, bool):
            value = float(value)
        values[identifier] = value

    def unsupported(self, element: Element) -> Unsupported:
        return Unsupported(f"the processing uses <{element.tag}>, which the importer cannot evaluate",
                           self.line(element))

    # --- the Evaluator protocol of the operators -------------------------------------------------
    def evaluate(self, element: Element, values: Scope) -> Value:
        operator = OPERATORS.get(element.tag)
        if operator is None:
            raise self.unsupported(element)
        return operator(self, element, values)

    def args(self, element: Element, values: Scope) -> list[Value]:
        return [self.evaluate(child, values) for child in element]

    def declared(self, element: Element) -> Declaration:
        declared = self.declarations.get(element.get("identifier", ""))
        if declared is None:
            raise Unsupported(f"<{element.tag}> names the undeclared variable {element.get('identifier')!r}",
                              self.line(element))
        return declared

    def line(self, element: Element) -> int:
        return self.document.line(element)
