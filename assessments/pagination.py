"""Pages of list endpoints: ``limit`` and ``offset`` with caps, and a link to the next page.

Every list endpoint answers at most ``MAX_LIMIT`` rows (``DEFAULT_LIMIT`` unless asked); a
``limit`` or ``offset`` past its cap is a 422 naming the parameter. The body stays a JSON list; when
more rows follow, the ``Link`` header carries the next page's address (``rel="next"``, RFC 8288),
found by asking the database for one row more than the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response
from starlette.datastructures import URL

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "MAX_OFFSET", "Page", "PageDep"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
"""Deeper than this, narrow the filter instead (and an offset stays within a 64-bit integer)."""

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    url: URL
    response: Response

    @property
    def fetch(self) -> int:
        """How many rows to ask for: one more than the page, to tell whether another follows."""
        return self.limit + 1

    def rows(self, fetched: Sequence[T]) -> list[T]:
        """The page's rows out of ``fetch`` rows, with a ``Link`` to the next page if there is one."""
        if len(fetched) > self.limit:
            following = self.url.include_query_params(limit=self.limit, offset=self.offset + self.limit)
            self.response.headers["link"] = f'<{following.path}?{following.query}>; rel="next"'
        return list(fetched[: self.limit])


def page_of(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"rows per page (at most {MAX_LIMIT})")]
    = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")] = 0,
) -> Page:
    return Page(limit, offset, request.url, response)


PageDep = Annotated[Page, Depends(page_of)]
