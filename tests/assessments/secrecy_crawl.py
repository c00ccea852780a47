"""The answer-secrecy crawler: every route a student can call, as that student, every byte kept.

:class:`Crawler` reads the app's route table, so a route added tomorrow is crawled without a
change here: every GET route (JSON API and HTML page alike, the ones that refuse a student too:
their error bodies are responses as well) is fetched with the student's bearer token *and* signed
session cookie, path parameters filled from the scene (a route with a parameter the crawler
cannot fill fails the run and says which). A ``seed`` query parameter gets the student's own
variant seed, the one a preview would need to show their key. Redirects are kept as they come
(their targets are routes of their own).

Every reply becomes a :class:`Reply` that holds its text in each form a secret could hide in:
the raw body; for HTML, the body with entities decoded, the visible text (tags dropped, white
space folded) and every attribute value (hidden inputs, ``data-`` attributes, ``aria-label``s,
classes); for JSON, the decoded document.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

DOCUMENTS_ABOUT_THE_API = "the API's own description"
"""The OpenAPI document and its viewers name every field a view may hold (``right_answer``,
``feedback``): they describe the schema, not a student's data, so only variant secrets (values,
texts) are looked for there, never field names."""


class _Markup(HTMLParser):
    """Collects an HTML page's visible text and every attribute value."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes.extend((name, value) for name, value in attrs if value is not None)
        self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self.text.append(" ")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def fold(text: str) -> str:
    """White space folded to single spaces: how a page's visible text is compared."""
    return " ".join(text.split())


SPOKEN = ("aria-label", "title", "alt")
"""Attributes whose words people and screen readers meet."""


def shown_words(markup: str) -> str:
    """What some HTML (an SVG plot, say) shows: its visible text (an SVG's ``<text>`` and
    ``<title>`` included) and the words of its :data:`SPOKEN` attributes."""
    parser = _Markup()
    parser.feed(markup)
    return " ".join([fold("".join(parser.text)), *(value for name, value in parser.attributes if name in SPOKEN)])


@dataclass
class Reply:
    """One response as the student received it."""

    label: str
    """Where in the session it was taken, and the request: ``after check: GET /api/v1/...``."""
    status: int
    body: str
    is_html: bool
    describes_api: bool = False
    location: str | None = None
    data: Any = None
    """The decoded JSON document (None for HTML and other bodies)."""
    visible: str = ""
    attributes: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, label: str, response: Any, *, describes_api: bool = False) -> Reply:
        kind = response.headers.get("content-type", "")
        reply = cls(label, response.status_code, response.text, "html" in kind, describes_api,
                    response.headers.get("location"))
        if "json" in kind:
            reply.data = json.loads(response.text)
        if reply.is_html:
            parser = _Markup()
            parser.feed(response.text)
            reply.visible = fold("".join(parser.text))
            reply.attributes = parser.attributes
        return reply

    @functools.cached_property
    def haystacks(self) -> tuple[str, ...]:
        """Every form of the reply's text a secret is looked for in."""
        found = [self.body]
        if self.is_html:
            found += [html.unescape(self.body), self.visible, "\n".join(fold(value) for _, value in self.attributes)]
        if self.data is not None:
            found.append("\n".join(strings_in(self.data)))
        return tuple(found)

    def holds(self, secret: str) -> bool:
        return any(secret in haystack for haystack in self.haystacks)

    @functools.cached_property
    def numbers(self) -> Numbers:
        return Numbers.of(*self.haystacks)

    def holds_number(self, key: KeyNumber) -> bool:
        """``key`` printed as a number of its own, at its precision or finer (see :class:`Numbers`)."""
        return self.numbers.hold(key)

    def class_tokens(self) -> set[str]:
        return {token for name, value in self.attributes if name == "class" for token in value.split()}

    def words(self) -> str:
        """Visible text and the words of attributes people and screen readers meet."""
        spoken = [value for name, value in self.attributes if name in SPOKEN]
        return " ".join([self.visible, *spoken])

    def __str__(self) -> str:
        return f"{self.label} -> {self.status}"


@dataclass(frozen=True)
class KeyNumber:
    """A secret number: its value, and the fewest decimals a page or feedback prints it with."""

    value: float
    decimals: int

    @classmethod
    def printed(cls, value: float, *texts: str) -> KeyNumber:
        """``value`` as ``texts`` print it (``0.168``, ``0.1678``): the fewest decimals among them."""
        return cls(value, min(len(t.partition(".")[2]) for t in texts))


_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?!\d)")


@dataclass(frozen=True)
class Numbers:
    """Every number written out in some text, by how many decimals it has.

    A secret number is held when the text prints it rounded to as many decimals as one of its
    numbers has, and at least to the secret's own precision: a key of 0.167786 printed as 0.168
    is "0.168" and "0.16779", not "0.17" (too coarse to be the key as printed), "0.1682" nor a
    plot's coordinate "120.168" (other numbers). Signs and exponents are not read: a number
    is compared by its digits alone (so "−0.168" holds the key 0.168, and a typed
    "1.67786e-1" is the number 1.67786).
    """

    by_decimals: dict[int, frozenset[str]]

    @classmethod
    def of(cls, *texts: str) -> Numbers:
        found: dict[int, set[str]] = {}
        for text in texts:
            for token in _NUMBER.findall(text):
                found.setdefault(len(token.partition(".")[2]), set()).add(token)
        return cls({d: frozenset(tokens) for d, tokens in found.items()})

    def hold(self, key: KeyNumber) -> bool:
        magnitude = abs(key.value)
        return any(f"{magnitude:.{d}f}" in tokens for d, tokens in self.by_decimals.items() if d >= key.decimals)


def strings_in(data: Any) -> Iterator[str]:
    """Every string (key or value) in a JSON document, decoded."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from strings_in(value)
    elif isinstance(data, list):
        for value in data:
            yield from strings_in(value)
    elif isinstance(data, str):
        yield data


def entries(data: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """Every (path, key, value) of the JSON objects in a document, depth first."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield path, key, value
            yield from entries(value, (*path, key))
    elif isinstance(data, list):
        for n, value in enumerate(data):
            yield from entries(value, (*path, str(n)))


# --- the routes -----------------------------------------------------------------------------------------

_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")


def _query_names(dependant: Any) -> Iterator[tuple[str, bool]]:
    for parameter in dependant.query_params:
        yield parameter.alias, parameter.field_info.is_required()
    for sub in dependant.dependencies:
        yield from _query_names(sub)


@dataclass(frozen=True)
class Route:
    path: str
    parameters: tuple[str, ...]
    query: tuple[tuple[str, bool], ...]
    describes_api: bool


def get_routes(app: FastAPI) -> list[Route]:
    """Every GET route of the app, as the route table lists it (HEAD comes with GET)."""
    documents = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    routes = []
    for context in iter_route_contexts(app.routes):
        if context.path is None or "GET" not in (context.methods or {"GET"}):  # a mount serves GET
            continue
        dependant = getattr(context.route, "dependant", None)
        query = tuple(_query_names(dependant)) if dependant is not None else ()
        routes.append(Route(context.path, tuple(_PARAMETER.findall(context.path)), query,
                            context.path in documents))
    return routes


SETTLED: set[str] = set()
"""Routes asked once per test run: they refused a student for their role (401, 403), or they
describe the API. Neither changes with a student's attempt or the clock."""
PUBLIC: set[str] = set()
"""Routes that answered a student exactly as they answer someone not signed in (status, where
they send them, body): they do not know who asks, so a session asks them at its first and last
crawls only."""


@dataclass
class Crawler:
    """Fetches every GET route as one student; ``fill`` gives each path parameter its values."""

    client: TestClient
    headers: dict[str, str]
    """The student's bearer token (their signed session cookie is in the client's jar)."""
    fill: dict[str, list[str]]
    """Values per path parameter; a route is fetched once per value (see ``rotate``)."""
    seeds: dict[str, int]
    """Per item key, the student's variant seed (for a ``seed`` query parameter)."""
    rotate: frozenset[str] = frozenset({"key"})
    """Parameters that take one value per crawl in turn, not every value every time: each crawl
    asks about one item of the quiz (the answer is a refusal; the next crawl asks about the next)."""
    routes: list[Route] = field(default_factory=list)
    crawls: int = 0
    requests: int = 0

    def _urls(self, route: Route) -> Iterator[tuple[str, dict[str, Any]]]:
        unknown = [p for p in route.parameters if p not in self.fill]
        assert not unknown, f"the crawler cannot fill {unknown} in {route.path}: teach it (Crawler.fill)"
        required = [name for name, needed in route.query if needed and name != "seed"]
        assert not required, f"the crawler cannot fill the query {required} of {route.path}: teach it"
        choices: list[dict[str, str]] = [{}]
        for name in route.parameters:
            values = self.fill[name]
            if name in self.rotate:
                values = [values[self.crawls % len(values)]]
            choices = [{**c, name: v} for c in choices for v in values]
        for chosen in choices:
            params: dict[str, Any] = {}
            if any(name == "seed" for name, _ in route.query) and chosen.get("key") in self.seeds:
                params["seed"] = self.seeds[chosen["key"]]
            url = route.path
            for name, value in chosen.items():
                url = re.sub(r"{" + name + r"(?::\w+)?}", value, url)
            yield url, params

    def get(self, label: str, url: str, *, describes_api: bool = False, **params: Any) -> Reply:
        self.requests += 1
        response = self.client.get(url, headers=self.headers, params=params or None, follow_redirects=False)
        return Reply.of(f"{label}: GET {url}", response, describes_api=describes_api)

    def call(self, label: str, method: str, url: str, **extra: Any) -> Reply:
        """One of the student's own actions (a save, a check, a form), its reply kept."""
        self.requests += 1
        follow = "data" in extra  # a form answers with a redirect to the page that tells the outcome
        response = self.client.request(method, url, headers=self.headers, follow_redirects=follow, **extra)
        return Reply.of(f"{label}: {method} {url}", response)

    def _same_for_a_stranger(self, reply: Reply, url: str, params: dict[str, Any]) -> bool:
        stranger = TestClient(self.client.app)  # no token, no session cookie
        self.requests += 1
        answer = stranger.get(url, params=params or None, follow_redirects=False)
        return (answer.status_code, answer.headers.get("location"), answer.text) == (
            reply.status, reply.location, reply.body)

    def crawl(self, label: str, *, last: bool = False) -> list[Reply]:
        """Every GET route, now: all of them at a session's first crawl and at its ``last``; in
        between, not those that do not know who asks (:attr:`public`), and once per run those
        in :data:`SETTLED`."""
        if not self.routes:
            self.routes = get_routes(self.client.app)  # type: ignore[arg-type]
        first = self.crawls == 0
        replies = []
        for route in self.routes:
            if route.path in SETTLED or (route.path in PUBLIC and not (first or last)):
                continue
            urls = list(self._urls(route))
            answers = [self.get(label, url, describes_api=route.describes_api, **params) for url, params in urls]
            if route.describes_api or all(a.status in (401, 403) for a in answers):
                SETTLED.add(route.path)
            elif first and all(self._same_for_a_stranger(a, url, params)
                               for a, (url, params) in zip(answers, urls, strict=True)):
                PUBLIC.add(route.path)
            replies += answers
        self.crawls += 1
        return replies
