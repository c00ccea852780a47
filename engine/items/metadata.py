"""Faceted tags, concepts and related items: the metadata every item carries.

A tag is a facet and one or more values (``chapter: [Ch.2 Generative Models, Ch.4 Alignment]``).
A value may be a hierarchy path written with ``>`` (``Science > Empirical Science > ...``); a query
for a path matches the path and everything below it. Concepts (knowledge components) and related
items are slugs, checked against the bank by the content checker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, RootModel, StringConstraints, model_validator

from engine.items.limits import MAX_FACET_LENGTH, MAX_FACETS, MAX_SLUG_LENGTH, MAX_TAG_LENGTH, MAX_TAG_VALUES

__all__ = ["SLUG", "Slug", "TagPath", "Tags", "normalise_path", "split_path"]

SLUG = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")
PATH_SEPARATOR = ">"


def _check_slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError(
            f"{value!r} is not a slug (lower-case letters, digits and single '-', '_' or '.')"
        )
    return value


Slug = Annotated[str, StringConstraints(max_length=MAX_SLUG_LENGTH), AfterValidator(_check_slug)]


def split_path(value: str) -> tuple[str, ...]:
    """``"Science > Empirical Science"`` -> ``("Science", "Empirical Science")``."""
    parts = tuple(part.strip() for part in value.split(PATH_SEPARATOR))
    if any(not part for part in parts):
        raise ValueError(f"tag value {value!r} has an empty level")
    return parts


def normalise_path(value: str) -> str:
    """One spelling for a hierarchy path: single spaces around each ``>``."""
    return f" {PATH_SEPARATOR} ".join(split_path(value))


TagPath = Annotated[str, StringConstraints(max_length=MAX_TAG_LENGTH), AfterValidator(normalise_path)]


class Tags(RootModel[dict[str, tuple[TagPath, ...]]]):
    """Facet -> values. A single value may be written without a list."""

    @model_validator(mode="before")
    @classmethod
    def _lists(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            if len(data) > MAX_FACETS:
                raise ValueError(f"at most {MAX_FACETS} tag facets, not {len(data)}")
            out = {}
            for facet, values in data.items():
                if isinstance(facet, str) and len(facet) > MAX_FACET_LENGTH:
                    raise ValueError(f"a facet is at most {MAX_FACET_LENGTH} characters ({facet[:20]!r}...)")
                if not isinstance(facet, str) or not re.match(r"^[a-z][a-z0-9_]*$", facet):
                    raise ValueError(f"facet {facet!r} must be a lower-case identifier")
                values = (values,) if isinstance(values, str) else values  # noqa: PLW2901
                if isinstance(values, list | tuple) and len(values) > MAX_TAG_VALUES:
                    raise ValueError(f"at most {MAX_TAG_VALUES} values of facet {facet!r}, not {len(values)}")
                out[facet] = values
            return out
        return data

    def __iter__(self) -> Iterator[tuple[str, tuple[str, ...]]]:  # type: ignore[override]
        return iter(self.root.items())

    def values(self, facet: str) -> tuple[str, ...]:
        return self.root.get(facet, ())

    def matches(self, query: str) -> bool:
        """``"chapter:Ch.4 Alignment"`` or ``"discipline:Science > Empirical Science"``.

        A path query matches the value itself and every value below it in the hierarchy.
        """
        facet, sep, wanted = query.partition(":")
        if not sep:
            raise ValueError(f"tag query {query!r} must read facet:value")
        want = split_path(wanted)
        return any(split_path(v)[: len(want)] == want for v in self.values(facet.strip()))
