"""The exchange formats through the API: export, import back, and a bad file refused whole."""

from __future__ import annotations

import pytest

from assessments.models import Role
from tests.assessments.conftest import World


@pytest.mark.parametrize(("fmt", "media"), [("qti3", "application/zip"), ("qti2", "application/zip"),
                                            ("gift", "text/plain"), ("moodlexml", "application/xml")])
def test_export_then_import_round_trips(world: World, fmt: str, media: str) -> None:
    api = world.client
    assert api is not None
    # An administrator: the item lives in the shared library, which only administrators change.
    staff = world.headers(world.user("librarian", Role.ADMIN))
    exported = api.get("/api/v1/items/export", headers=staff, params={"format": fmt, "q": "numeric"})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith(media)
    assert int(exported.headers["x-assay-export-notes"]) >= 1  # the computed item left as a fixed variant
    imported = api.post("/api/v1/items/import", headers=staff, params={"format": fmt}, content=exported.content)
    assert imported.status_code == 200, imported.text
    [item] = imported.json()["items"]
    assert item["key"] == "numeric"  # the id survives the round trip: a version of the same item


def test_a_bad_gift_file_is_refused_with_its_line(world: World) -> None:
    api = world.client
    assert api is not None
    staff = world.headers(world.author())
    bad = b"::ok:: What is 1+1? {=2 ~3}\n\n::broken:: Unclosed {=yes ~no\n"
    reply = api.post("/api/v1/items/import", headers=staff, params={"format": "gift"}, content=bad)
    assert reply.status_code == 400
    assert reply.json()["error"]["details"][0]["line"] == 3
    assert api.get("/api/v1/items", headers=staff, params={"q": "ok"}).json() == []
    unknown = api.post("/api/v1/items/import", headers=staff, params={"format": "docx"}, content=b"x")
    assert unknown.status_code == 400 and "known: yaml, qti3, qti2, gift, moodlexml" in unknown.text


def test_an_import_of_an_item_another_bank_holds_is_refused_whole(world: World) -> None:
    """An instructor may read the library's items, not replace them: the import is refused and
    says how to go on."""
    api = world.client
    assert api is not None
    staff = world.headers(world.author())
    exported = api.get("/api/v1/items/export", headers=staff, params={"format": "gift", "q": "numeric"})
    imported = api.post("/api/v1/items/import", headers=staff, params={"format": "gift"}, content=exported.content)
    assert imported.status_code == 409
    assert imported.json()["error"]["code"] == "item_in_another_bank"
    assert "give this one another id" in imported.json()["error"]["message"]


@pytest.mark.parametrize(("fmt", "unwritable"), [("qti3", set()), ("qti2", set()), ("gift", {"ordering"}),
                                                 ("moodlexml", {"ordering"})])
def test_importing_an_export_twice_makes_no_second_version(world: World, fmt: str, unwritable: set[str]) -> None:
    """What a format carries comes back the same: the first import of an export may make a version
    (a computed item becomes its fixed variant), the second finds every item unchanged (numbers
    normalised, rubric points 0 and 0.0 alike)."""
    api = world.client
    assert api is not None
    staff = world.headers(world.user("librarian", Role.ADMIN))
    for key in ("numeric", "single", "tf", "ordering", "matching", "short", "essay", "seed"):
        exported = api.get("/api/v1/items/export", headers=staff, params={"format": fmt, "q": key})
        assert exported.status_code == 200, exported.text
        first = api.post("/api/v1/items/import", headers=staff, params={"format": fmt}, content=exported.content)
        if key in unwritable:
            assert first.status_code == 400, (key, first.text)  # the export said so in its notes
            assert int(exported.headers["x-assay-export-notes"]) >= 1
            continue
        assert first.status_code == 200, (key, first.text)
        second = api.post("/api/v1/items/import", headers=staff, params={"format": fmt}, content=exported.content)
        assert second.status_code == 200, (key, second.text)
        assert [(i["key"], i["created"]) for i in second.json()["items"]] == [(key, False)], key


def test_an_import_is_refused_to_a_student_before_it_is_read(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoever may not write to a bank is refused (403) before any of the import's work (reading,
    validating, checking its items in the shared pool), bad file or good."""
    from assessments.bank import exchange

    api = world.client
    assert api is not None
    student = world.headers(world.user("pupil", Role.STUDENT))
    prepared: list[str] = []
    real = exchange.prepare_import
    monkeypatch.setattr(exchange, "prepare_import", lambda *a, **k: prepared.append("read") or real(*a, **k))
    for content in (b"::broken:: Unclosed {=yes ~no\n", b"::ok:: What is 1+1? {=2 ~3}\n"):
        reply = api.post("/api/v1/items/import", headers=student, params={"format": "gift"}, content=content)
        assert reply.status_code == 403, reply.text
    assert prepared == []
    author = world.headers(world.author())
    assert api.post("/api/v1/items/import", headers=author, params={"format": "gift"},
                    content=b"::ok:: What is 1+1? {=2 ~3}\n").status_code == 200
    assert prepared == ["read"]
