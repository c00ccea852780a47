"""The bank's declarations (``bank.yaml``): allowed tag facets and values, and the concepts.

An item's tag value is allowed when it is a declared value or an ancestor of one in the
hierarchy (``Science > Empirical Science`` is allowed once the full path below it is declared).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.content.source import Problem, SourceDocument, read_yaml
from engine.items.metadata import Slug, TagPath, split_path

__all__ = ["BANK_FILE", "Bank", "BankDeclarations", "load_bank"]

BANK_FILE = "bank.yaml"


class BankDeclarations(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    facets: dict[str, tuple[TagPath, ...]]
    concepts: dict[Slug, str]


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
            return f"tag facet {facet!r} is not declared in {BANK_FILE} (declared: {known})"
        if split_path(value) not in self._prefixes[facet]:
            return f"tag value {value!r} is not declared for facet {facet!r} in {BANK_FILE}"
        return None

    @property
    def concepts(self) -> dict[str, str]:
        return self.declarations.concepts


def load_bank(root: Path) -> tuple[Bank | None, list[Problem]]:
    """Read ``bank.yaml`` from ``root`` (or from the nearest folder above a file)."""
    folder = root if root.is_dir() else root.parent
    for candidate in (folder, *folder.parents):
        path = candidate / BANK_FILE
        if path.is_file():
            break
    else:
        return None, [Problem(str(root), 1, f"no {BANK_FILE} declares the facets and concepts")]
    document, problems = read_yaml(path, str(path))
    if document is None:
        return None, problems
    try:
        declarations = BankDeclarations.model_validate(document.data)
    except ValidationError as exc:
        return None, [
            document.problem(tuple(e["loc"]), f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
            for e in exc.errors(include_url=False)
        ]
    return Bank(declarations, document), []
