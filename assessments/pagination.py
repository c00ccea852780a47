"""Pages of list endpoints: ``limit`` and ``offset`` with caps, and a link to the next page.

Every list endpoint answers at most ``MAX_LIMIT`` rows (``DEFAULT_LIMIT`` unless asked); a
``limit`` or ``offset`` past its cap is a 422 naming the parameter. The body stays a JSON list; when
more rows follow, the ``Link`` header carries the next page's address (``rel="next"``, RFC 8288),
found by asking the database for one row more than the page. A list that counts its rows
(:meth:`Page.counted`) also says how many there are in all, in the ``X-Total-Count`` header, and
links the previous page (``rel="prev"``) as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response
from starlette.datastructures import URL

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "MAX_OFFSET", "TOTAL_HEADER", "Page", "PageDep"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
"""Deeper than this, narrow the filter instead (and an offset stays within a 64-bit integer)."""

TOTAL_HEADER = "x-total-count"
"""How many rows the list holds in all (every page together), for a list that counts them."""

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

    def _link(self, offset: int, rel: str) -> str:
        address = self.url.include_query_params(limit=self.limit, offset=offset)
        return f'<{address.path}?{address.query}>; rel="{rel}"'

    def rows(self, fetched: Sequence[T]) -> list[T]:
        """The page's rows out of ``fetch`` rows, with a ``Link`` to the next page if there is one."""
        if len(fetched) > self.limit:
            self.response.headers["link"] = self._link(self.offset + self.limit, "next")
        return list(fetched[: self.limit])

    def counted(self, rows: Sequence[T], total: int) -> list[T]:
        """A page of ``limit`` rows (or fewer) out of ``total``: the total in ``X-Total-Count`` and
        ``Link`` to the next and previous pages where there are such."""
        links = []
        if self.offset + self.limit < total:
            links.append(self._link(self.offset + self.limit, "next"))
        if self.offset > 0:
            links.append(self._link(max(0, min(self.offset, total) - self.limit), "prev"))
        if links:
            self.response.headers["link"] = ", ".join(links)
        self.response.headers[TOTAL_HEADER] = str(total)
        return list(rows[: self.limit])


def page_of(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"rows per page (at most {MAX_LIMIT})")]
    = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")] = 0,
) -> Page:
    return Page(limit, offset, request.url, response)


PageDep = Annotated[Page, Depends(page_of)]
