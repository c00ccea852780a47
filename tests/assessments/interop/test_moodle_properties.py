"""Properties of the two Moodle formats: any text and any number survive export then import.

GIFT escapes its control characters, Moodle XML its markup; a stem, option or feedback made of
anything an author can type (braces, backslashes, colons, '#', '~', '=', '%', LaTeX, new lines,
text that looks like a format marker) must come back as it left, and a numeric key and its
tolerance must come back to the last bit.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from assessments.interop.base import ExportItem, Format
from assessments.interop.gift import GIFT
from assessments.interop.gift.reader import unescape
from assessments.interop.gift.writer import _escape
from assessments.interop.moodlexml import MOODLE_XML
from engine.content.latex import latex_problems
from engine.items import NumericItem, parse_item
from engine.qtypes import qtype_for
from engine.variants import generate

SETTINGS = settings(max_examples=40, derandomize=True, deadline=None, database=None)
FORMATS = (GIFT, MOODLE_XML)

# What an author types: letters, digits, spaces and new lines, and every character either format
# treats specially. Control characters other than the new line are left out (XML cannot hold them).
_ALPHABET = st.sampled_from(list("abcXYZ019 \n\t") + list("{}[]:#=~%\\$-><&;'\"*_/^")
                            + ["é", "σ", "–", "\u2028", "\xa0"])
# ... and that the checker accepts: no stray "{{", no LaTeX the pages cannot show.
TEXT = st.text(_ALPHABET, min_size=1, max_size=40).map(lambda t: t.strip()).filter(
    lambda t: bool(t) and "{{" not in t and not latex_problems(t))
MARKER = st.sampled_from(["", "[html]", "[markdown]", "[plain]", "[moodle]", "%50%", "%"])


def _through(fmt: Format, definition: dict[str, Any]) -> dict[str, Any]:
    item = parse_item(definition)
    exported = fmt.export_items([ExportItem(item.id, item, generate(item, 0))], title="property")
    imported = fmt.import_items(exported.content, exported.filename)
    assert imported.problems == [], (exported.content.decode(), imported.problems)
    [back] = imported.definitions
    return back


@SETTINGS
@given(st.text(_ALPHABET | st.sampled_from(["\r"]), max_size=60))
def test_gift_escaping_is_undone_exactly(text: str) -> None:
    assert unescape([(1, _escape(text))]).decoded() == text.replace("\r", "")


@SETTINGS
@given(stem=TEXT, marker=MARKER, right=TEXT, wrong=TEXT, feedback=TEXT, solution=TEXT)
def test_choice_texts_survive_both_formats(stem: str, marker: str, right: str, wrong: str, feedback: str,
                                            solution: str) -> None:
    right = (marker + right).strip()
    if right == wrong:
        return
    definition = {
        "id": "texts", "type": "single_choice", "title": "Texts", "stem": stem, "solution": solution,
        "options": [{"text": right, "correct": True, "feedback": feedback}, {"text": wrong}],
    }
    original = parse_item(definition)
    shown = qtype_for(original).render(original, generate(original, 0))
    for fmt in FORMATS:
        back = _through(fmt, definition)
        assert back["stem"] == shown["stem"].strip(), fmt.name
        assert [(o["text"], o["correct"]) for o in back["options"]] == [(right, True), (wrong, False)], fmt.name
        assert back["options"][0].get("feedback") == feedback, fmt.name
        assert back["solution"] == solution, fmt.name


NUMBER = st.floats(min_value=-1e14, max_value=1e14, allow_nan=False, allow_infinity=False)


@SETTINGS
@given(key=NUMBER, tolerance=st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_numeric_keys_and_tolerances_survive_to_the_bit(key: float, tolerance: float) -> None:
    definition = {"id": "number", "type": "numeric", "title": "A number", "stem": "How much?",
                  "answer": repr(key), "tolerance": {"absolute": tolerance}}
    for fmt in FORMATS:
        back = parse_item(_through(fmt, definition))
        assert isinstance(back, NumericItem)
        assert float(generate(back, 0).key["answer"][0]) == key, fmt.name
        assert back.tolerance.absolute == tolerance, fmt.name
