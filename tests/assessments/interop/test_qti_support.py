"""Shared helpers for the QTI tests: the schemas, the shipped bank, and what makes two items equivalent.

Two items are equivalent when a student could not tell them apart: the same type, the same texts
(compared as the XHTML they render to, so Markdown spelt differently but meaning the same counts
as the same), the same key and scoring, and the same fraction and feedback for every response
tried. Responses are built by authored option, then placed where each item's own variant shows
that option, so two variants that shuffle differently still answer alike.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import zipfile
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, tostring

from lxml import etree

from assessments.interop.base import ExportItem
from assessments.interop.qti.markup_out import append_blocks
from engine.content.loader import item_files, load_items
from engine.items import ItemBase
from engine.qtypes import qtype_for
from engine.qtypes.common import render_text
from engine.variants import Variant, generate
from tests.conftest import ROOT

XSD_V2 = "qti/xsd/qtiv2p2/imsqti_v2p2.xsd"
XSD_V3 = "qti/xsd/qtiv3p0_sbac_lint/qtiv3p0/imsqti_asiv3p0_sbacv1p0_v1p0.xsd"
EXAMPLES = "qti/examples"


@functools.cache
def schema(path: Path) -> etree.XMLSchema:
    """An XSD, loaded once per session (the 2.2 schema takes seconds); no network is touched."""
    return etree.XMLSchema(etree.parse(str(path), etree.XMLParser(no_network=True)))


@functools.cache
def bank() -> tuple[ExportItem, ...]:
    """Every item of the shipped bank at its variant of seed 0."""
    root = ROOT / "content"
    loaded, problems = load_items(item_files(root), base=root)
    assert not problems, problems
    return tuple(ExportItem(entry.item.id, entry.item, generate(entry.item, 0)) for entry in loaded)


def corpus_rows(corpora: Path) -> list[dict[str, str]]:
    """The item rows of the QTI examples' MANIFEST.tsv."""
    with (corpora / EXAMPLES / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["role"] == "item"]


def package_files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def xhtml(markdown: str) -> str:
    """Author text as the XHTML it exports to, white space folded: how texts are compared."""
    element = Element("div")
    append_blocks(element, markdown)
    return " ".join(tostring(element, encoding="unicode").split())


def _authored(variant: Variant, shown: list[dict[str, Any]]) -> list[str]:
    assert variant.order is not None
    texts = [""] * len(shown)
    for position, authored in enumerate(variant.order):
        texts[authored] = xhtml(shown[position]["text"])
    return texts


def summary(item: ItemBase, variant: Variant) -> dict[str, Any]:
    """What must survive a round trip: type, texts, key and scoring."""
    shown = qtype_for(item).render(item, variant)
    kind = item.type_name
    found: dict[str, Any] = {"type": kind, "stem": xhtml(shown["stem"]), "max_mark": item.max_mark}
    if kind in {"single_choice", "multiple_response"}:
        found["options"] = _authored(variant, shown["options"])
        found["correct"] = [bool(c) for c in variant.key["correct"][0]]
        found["scoring"] = (item.scoring.method or "partial", item.scoring.negative, item.scoring.allow_negative,
                            item.scoring.wrong_selection_penalty if kind == "multiple_response" else None)
    elif kind == "true_false":
        found["answer"] = bool(variant.key["answer"][0])
        found["negative"] = item.scoring.negative
    elif kind == "numeric":
        found["answer"] = float(variant.key["answer"][0])
        found["unit"] = getattr(item, "unit", None)
        if item.tolerance.sigfigs is None:  # sigfigs leave as their absolute half-unit
            found["width"] = float(variant.key["width"][0])
    elif kind == "ordering":
        texts = _authored(variant, shown["options"])
        found["sequence"] = [texts[int(k)] for k in variant.key["sequence"][0]]
        found["scoring"] = item.scoring.method or "adjacent_pairs"
    elif kind == "matching":
        pool = _authored(variant, shown["answers"])
        found["pairs"] = [(xhtml(p["text"]), pool[n]) for n, p in enumerate(shown["prompts"])]
        found["distractors"] = sorted(pool[len(shown["prompts"]):])
        found["scoring"] = item.scoring.method or "partial"
    elif kind == "short_text":
        found["answers"] = [(" ".join(render_text(a.match, variant).split()), a.fraction)
                            for a in item.answers]
        found["case_sensitive"] = item.case_sensitive
    return found


def _responses(item: ItemBase, variant: Variant) -> list[tuple[str, Any]]:
    """Responses by authored option (or value): every one for small items, a spread for big ones."""
    kind = item.type_name
    count = len(variant.order) if variant.order is not None else 0
    if kind == "single_choice":
        return [("choice", [k]) for k in range(count)]
    if kind == "multiple_response":
        return [("choices", list(s)) for r in range(1, count + 1) for s in itertools.combinations(range(count), r)]
    if kind == "true_false":
        return [("answer", True), ("answer", False)]
    if kind == "numeric":
        key, width = float(variant.key["answer"][0]), float(variant.key["width"][0])
        misconceptions = map(float, variant.key["misconception_values"][0])
        values = [key, key + width / 2, key - width / 2, key + 1000, *misconceptions]
        return [("number", v) for v in values]
    if kind == "short_text":
        answers = [render_text(a.match, variant).replace("*", "") for a in item.answers]
        return [("answer", a) for a in answers] + [("answer", "nothing like any answer")]
    if kind == "ordering":
        return [("order", list(p)) for p in itertools.islice(itertools.permutations(range(count)), 120)]
    if kind == "matching":
        prompts = len(item.pairs)
        return [("matches", list(p)) for p in itertools.islice(itertools.product(range(count), repeat=prompts), 300)]
    return []


def _raw(kind: str, value: Any, variant: Variant) -> dict[str, Any]:
    def shown(authored: list[int]) -> list[int]:
        assert variant.order is not None
        return [list(variant.order).index(k) for k in authored]

    if kind == "choice":
        return {"choice": shown(value)[0]}
    if kind in {"choices", "order", "matches"}:
        return {kind: shown(value)}
    if kind == "number":
        return {"answer": repr(value)}
    return {"answer": value}


def grades(item: ItemBase, variant: Variant, like: tuple[ItemBase, Variant] | None = None) -> list[tuple[Any, ...]]:
    """(response, fraction, feedback as XHTML) for the responses of ``like`` (default: this item)."""
    source_item, source_variant = like or (item, variant)
    qtype = qtype_for(item)
    out = []
    for kind, value in _responses(source_item, source_variant):
        grade = qtype.grade(item, variant, qtype.parse(item, variant, _raw(kind, value, variant)))
        out.append((kind, repr(value), round(grade.fraction, 9), xhtml("\n\n".join(grade.feedback))))
    return out
