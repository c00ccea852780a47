"""QTI 3.0 and 2.2: Assay's items out as content packages, and QTI items in as Assay definitions.

:data:`QTI3` and :data:`QTI2` implement :class:`assessments.interop.base.Format`:

- ``export_items(items, title=...)`` writes a zip content package: ``imsmanifest.xml`` and
  ``items/<identifier>.xml`` per item (:mod:`.export`, :mod:`.package`). A computed item leaves as
  the fixed variant it is given, and ``Exported.notes`` says so, item by item, with anything else
  QTI cannot carry exactly.
- ``import_items(data, filename)`` reads one item file or a zip package (with or without a
  manifest) of either version into plain definitions in Assay's format (:mod:`.import_`), or the
  problems, each with its file and line. The import is all or nothing: one problem, no definitions.
  XML is parsed only by defusedxml (:mod:`.safexml`).

What was decided, and why:

- The key, the scoring method, a numeric tolerance and the feedback of each response are read by
  *running* the item's response processing on candidate responses (:mod:`.processing`), not by
  recognising how it is written; so hand-written processing imports as well as the templates do,
  and where Assay's scoring cannot say the same (weighted pairs, partial credit on one option) the
  nearest Assay method is used and ``Imported.notes`` says what differs.
- Feedback every response shows is the item's solution; feedback an option shows is that option's;
  Assay's own exports name misconception feedback ``misconception-<name>``, so those come back as
  misconceptions.
- A QTI template item (random values) imports as one fixed variant drawn with a fixed seed, the
  mirror of how a computed Assay item exports (:mod:`.templates`).
- An item Assay cannot hold is a problem naming why: several interactions (an Assay item takes one
  response), an unsupported interaction, no right answer (surveys), two right selections, one answer
  right for two prompts.
- Exported scores are marks (fraction × ``max_mark``; ``MAXSCORE`` declares the maximum); an import
  takes the marks of a right answer as ``max_mark``.
"""

from __future__ import annotations

import re

from assessments.interop.base import Exported, ExportItem, Imported
from assessments.interop.qti.dialect import V2, V3, Dialect
from assessments.interop.qti.export import build_item
from assessments.interop.qti.package import ManifestEntry, write_package

__all__ = ["QTI2", "QTI3", "QtiFormat"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "assay-items"


class QtiFormat:
    """One QTI version as an interop format (``name`` is ``qti3`` or ``qti2``)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.name = dialect.name

    def __repr__(self) -> str:
        return f"QtiFormat({self.dialect.version})"

    def export_items(self, items: list[ExportItem], *, title: str) -> Exported:
        """A content package of ``items``, each at its given variant."""
        entries: list[tuple[ManifestEntry, bytes]] = []
        notes: list[str] = []
        used: set[str] = set()
        for export in items:
            document = build_item(export, self.dialect)
            if document.identifier in used:
                raise ValueError(f"two items export as {document.identifier!r}")
            used.add(document.identifier)
            keywords = [f"{facet}: {value}" for facet, values in export.item.tags for value in values]
            keywords += [f"concept: {concept}" for concept in export.item.concepts]
            entry = ManifestEntry(document.identifier, f"items/{document.identifier}.xml", export.item.title,
                                  keywords, document.interaction)
            entries.append((entry, document.xml))
            notes.extend(document.notes)
        slug = _slug(title)
        content = write_package(entries, self.dialect, f"MANIFEST-{slug}")
        suffix = "qti30" if self.dialect.is_v3 else "qti22"
        return Exported(content, "application/zip", f"{slug}.{suffix}.zip", notes)

    def import_items(self, data: bytes, filename: str) -> Imported:
        """Assay definitions from one QTI item file or a zip package (either version)."""
        from assessments.interop.qti.import_ import import_items

        return import_items(data, filename)


QTI3 = QtiFormat(V3)
QTI2 = QtiFormat(V2)
