"""The bank's declarations (``bank.yaml``): allowed tag facets and values, the facets every item
must carry, the concepts and their prerequisites, and the misconceptions items share by name.

An item's tag value is allowed when it is a declared value or an ancestor of one in the
hierarchy (``Science > Empirical Science`` is allowed once the full path below it is declared).
A folder of items outside the bank's folder is checked against the nearest ``bank.yaml`` above
it, or against the one named with ``--bank``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.adaptive.pool import concept_order
from engine.content.loader import did_you_mean
from engine.content.source import Problem, SourceDocument, read_yaml
from engine.items.metadata import Slug, TagPath, split_path

__all__ = ["BANK_FILE", "Bank", "BankDeclarations", "load_bank"]

BANK_FILE = "bank.yaml"


class BankDeclarations(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    facets: dict[str, tuple[TagPath, ...]]
    required: tuple[str, ...] = ()
    """Facets every item must carry (a ``kind`` and a ``bloom`` level, say)."""
    concepts: dict[Slug, str]
    prerequisites: dict[Slug, tuple[Slug, ...]] = {}
    """Concept → the concepts a student should master first (a practice asks them first)."""
    misconceptions: dict[Slug, str] = {}
    """Name → the mistake: a misconception of that name in any item is this same mistake, so a
    practice can follow a student's mistake from one item to another."""


@dataclass(frozen=True)
class Bank:
    declarations: BankDeclarations
    source: SourceDocument | None = None
    _prefixes: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for facet, values in self.declarations.facets.items():
            allowed: set[tuple[str, ...]] = set()
            for value in values:
                parts = split_path(value)
                allowed.update(parts[:n] for n in range(1, len(parts) + 1))
            self._prefixes[facet] = allowed

    def tag_problem(self, facet: str, value: str) -> str | None:
        if facet not in self._prefixes:
            known = ", ".join(sorted(self._prefixes))
            return (f"tag facet {facet!r} is not declared in {BANK_FILE}"
                    f"{did_you_mean(facet, self._prefixes)} (declared: {known})")
        if split_path(value) not in self._prefixes[facet]:
            declared = self.declarations.facets[facet]
            return (f"tag value {value!r} is not declared for facet {facet!r} in {BANK_FILE}"
                    f"{did_you_mean(value, declared)} (declared: {', '.join(declared)})")
        return None

    def missing_facet(self, facet: str) -> str:
        declared = ", ".join(self.declarations.facets.get(facet, ()))
        return f"every item needs a {facet!r} tag ({BANK_FILE} requires it; its values: {declared})"

    @property
    def required(self) -> tuple[str, ...]:
        return self.declarations.required

    @property
    def concepts(self) -> dict[str, str]:
        return self.declarations.concepts

    @property
    def prerequisites(self) -> dict[str, tuple[str, ...]]:
        return self.declarations.prerequisites

    @property
    def misconceptions(self) -> dict[str, str]:
        return self.declarations.misconceptions


def _prerequisite_problems(document: SourceDocument, declarations: BankDeclarations) -> list[Problem]:
    """Every prerequisite names declared concepts, none its own, and they form no cycle."""
    concepts = declarations.concepts
    problems = []
    for concept, needs in declarations.prerequisites.items():
        if concept not in concepts:
            problems.append(document.problem(("prerequisites", concept), f"prerequisites of unknown concept "
                                             f"{concept!r}{did_you_mean(concept, concepts)}"))
        for n, other in enumerate(needs):
            if other not in concepts:
                problems.append(document.problem(("prerequisites", concept, n), f"unknown concept {other!r}"
                                                 f"{did_you_mean(other, concepts)}"))
            elif other == concept:
                problems.append(document.problem(("prerequisites", concept, n),
                                                 f"concept {concept!r} cannot be its own prerequisite"))
    if problems:
        return problems
    try:
        concept_order(list(concepts), declarations.prerequisites)
    except ValueError as exc:
        return [document.problem(("prerequisites",), str(exc))]
    return []


def load_bank(root: Path, *, explicit: bool = False) -> tuple[Bank | None, list[Problem]]:
    """Read ``bank.yaml`` from ``root`` or the nearest folder above it; with ``explicit``,
    ``root`` is the declarations file itself (``--bank FILE``)."""
    if explicit:
        path = root
        if not path.is_file():
            return None, [Problem(str(root), 1, f"no such file: --bank names the bank's {BANK_FILE}")]
    else:
        folder = (root if root.is_dir() else root.parent).resolve()
        for candidate in (folder, *folder.parents):
            path = candidate / BANK_FILE
            if path.is_file():
                break
        else:
            return None, [Problem(str(root), 1, f"no {BANK_FILE} here or in any folder above declares "
                                  "the facets and concepts: name one with --bank FILE")]
    try:
        display = str(path.relative_to(Path.cwd()))
    except ValueError:
        display = str(path)
    document, problems = read_yaml(path, display)
    if document is None:
        return None, problems
    try:
        declarations = BankDeclarations.model_validate(document.data)
    except ValidationError as exc:
        return None, [
            document.problem(tuple(e["loc"]), f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
            for e in exc.errors(include_url=False)
        ]
    unknown = [f for f in declarations.required if f not in declarations.facets]
    problems = ([document.problem(("required",), f"required facet {unknown[0]!r} is not declared under facets")]
                if unknown else _prerequisite_problems(document, declarations))
    if problems:
        return None, problems
    return Bank(declarations, document), []
