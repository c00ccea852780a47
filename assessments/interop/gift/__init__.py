"""GIFT, Moodle's plain-text question format, in and out.

Reading follows Moodle's own importer (question/format/gift/format.php): questions are separated
by blank lines; lines starting ``//`` are comments; ``$CATEGORY:`` switches the category;
``::name::`` names a question; ``[html]``, ``[moodle]``, ``[plain]`` or ``[markdown]`` sets a
text's format; ``\\``, ``\\:``, ``\\#``, ``\\=``, ``\\{``, ``\\}``, ``\\~`` are literal characters
and ``\\n`` a new line. The answer block ``{...}`` decides the type: empty for an essay, ``#``
numbers, ``~`` multiple choice (several answers when no ``=`` is fully right), ``= ... ->``
matching, ``T``/``F`` true/false, otherwise short answer; ``####`` starts the general feedback.
Text after the block continues the question, a ``_____`` marking the missing word.

Unlike Moodle, a problem anywhere rejects the whole file (with the line of each problem), and a
second answer block or an unclosed name is a problem rather than text. The questions then become
Assay definitions through :mod:`assessments.interop.moodle.to_assay`. Reading is :mod:`.reader`,
writing :mod:`.writer`; this module holds the format object.

Writing prints each item's variant as Moodle's exporter would, with the question text marked
``[markdown]`` (Assay's texts are Markdown) and a ``// question: <id>  name: <title>`` comment
that a later import reads back as the item's id.
"""

from __future__ import annotations

from assessments.interop.base import Exported, ExportItem, Imported, Problem
from assessments.interop.gift.reader import GiftError, QuestionReader, blocks, idnumber_of, unescape
from assessments.interop.gift.writer import one_line, write_question
from assessments.interop.moodle.from_assay import question_of
from assessments.interop.moodle.model import Ids, category_path, category_value, slugify
from assessments.interop.moodle.to_assay import to_definition

__all__ = ["GIFT", "GiftFormat"]

MAX_BYTES = 10_000_000


def _decode(data: bytes, filename: str) -> tuple[str | None, Problem | None]:
    if len(data) > MAX_BYTES:
        return None, Problem(filename, 0, f"the file is over {MAX_BYTES // 1_000_000} MB")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, Problem(filename, line, "the file is not UTF-8 text")


class GiftFormat:
    """The GIFT format: ``import_items`` and ``export_items`` as :class:`~assessments.interop.base.Format`."""

    name = "gift"

    def import_items(self, data: bytes, filename: str) -> Imported:
        result = Imported()
        text, problem = _decode(data, filename)
        if text is None:
            assert problem is not None
            result.problems.append(problem)
            return result
        ids, category, questions = Ids(), "", 0
        for lines, comments in blocks(text):
            number, first = lines[0]
            if first.startswith("$CATEGORY:"):
                if len(lines) > 1:
                    result.problems.append(Problem(filename, lines[1][0], "leave a blank line after $CATEGORY:"))
                category = category_value(unescape([(number, first[10:])]).decoded())
                continue
            questions += 1
            reader = QuestionReader(lines, category, idnumber_of(comments))
            try:
                question = reader.read()
            except GiftError as exc:
                result.problems.append(Problem(filename, exc.line, f"{reader.q.label}: {exc}"))
                continue
            outcome = to_definition(question, ids)
            result.notes.extend(outcome.notes)
            result.problems.extend(Problem(filename, line, message) for line, message in outcome.problems)
            if outcome.definition is not None:
                result.definitions.append(outcome.definition)
        if not questions and not result.problems:
            result.problems.append(Problem(filename, 0, "no GIFT questions in the file"))
        if result.problems:
            result.definitions = []
        return result

    def export_items(self, items: list[ExportItem], *, title: str) -> Exported:
        notes: list[str] = []
        by_category: dict[str, list[str]] = {}
        for entry in items:
            question, found = question_of(entry)
            notes.extend(found)
            if question is None:
                continue
            body = write_question(question, entry.key, notes)
            if body is not None:
                by_category.setdefault(question.category, []).append(body)
        header = (f"// {one_line(title)}\n// Exported from Assay: texts are Markdown; a computed item is the "
                  "variant named in the export report.\n")
        chunks = [header]
        for category in sorted(by_category, key=bool):  # uncategorised first, then in order of appearance
            if category:
                chunks.append(f"$CATEGORY: {category_path(category)}\n")
            chunks.extend(by_category[category])
        return Exported(content="\n".join(chunks).encode(), media_type="text/plain; charset=utf-8",
                        filename=f"{slugify(title) or 'assay'}.gift.txt", notes=notes)


GIFT = GiftFormat()
"""The module-level format object (``?format=gift``)."""
