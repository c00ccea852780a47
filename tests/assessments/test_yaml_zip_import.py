"""A zip of a folder of YAML item files imports all or nothing, reported per item before it is
committed; it is read bounded: no name outside the folder, no more files than allowed, and no file
that inflates past its bound (a zip bomb is refused before it is inflated)."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from assessments.bank import declarations, repository, yaml_folder
from assessments.models import Declarations, Item, ItemVersion, VersionOrigin
from tests.assessments.conftest import World
from tests.assessments.test_authoring import ITEM, csrf, sign_in

BANK = "facets:\n  chapter: [Ch.9 Zipped]\nconcepts:\n  zipped-concept: A concept from a zip\n"


def zipped(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def folder(**changes: str | bytes) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {
        "bank/bank.yaml": BANK,
        "bank/ch9/zip-one.yaml": ITEM.replace("id: tie-loss", "id: zip-one"),
        "bank/ch9/zip-two.yaml": ITEM.replace("id: tie-loss", "id: zip-two").replace("a tie", "a draw"),
        "bank/README.md": "# notes\n",
    }
    files.update(changes)
    return {k: v for k, v in files.items() if v != ""}


def keys(world: World) -> int:
    return int(world.db.scalar(select(func.count(Item.id)).where(Item.key.like("zip-%"))) or 0)


def test_the_api_imports_a_zipped_folder_and_its_declarations(world: World) -> None:
    api = world.client
    assert api is not None
    ada = world.author("ada")
    reply = api.post("/api/v1/items/import", params={"format": "yaml", "bank": "course:ada-course"},
                     content=zipped(folder()), headers=world.headers(ada))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["created"] == 2 and sorted(i["key"] for i in body["items"]) == ["zip-one", "zip-two"]
    assert "bank/README.md is not a YAML item file and was left out" in body["notes"]
    assert any("were added to the bank course:ada-course's declarations" in n for n in body["notes"])
    bank = repository.bank_by_slug(world.db, "course:ada-course")
    assert bank is not None
    assert declarations.stored(world.db, bank) == {"facets": {"chapter": ["Ch.9 Zipped"]},
                                                   "concepts": {"zipped-concept": "A concept from a zip"}}
    version = world.db.scalars(select(ItemVersion).join(Item).where(Item.key == "zip-one")).one()
    assert (version.origin, version.source) == (VersionOrigin.IMPORT, "import.yaml/bank/ch9/zip-one.yaml")


@pytest.mark.parametrize(("name", "said"), [
    ("../escape.yaml", "'../escape.yaml' names a file outside the folder"),
    ("/etc/zip-abs.yaml", "'/etc/zip-abs.yaml' names a file outside the folder"),
    ("bank/..\\zip-back.yaml", "names a file outside the folder"),
    ("C:/zip-drive.yaml", "names a file outside the folder"),
])
def test_a_name_outside_the_folder_refuses_the_zip_whole(world: World, name: str, said: str) -> None:
    api = world.client
    assert api is not None
    ada = world.author("ada")
    files = folder(**{name: ITEM.replace("id: tie-loss", "id: zip-escape")})
    reply = api.post("/api/v1/items/import", params={"format": "yaml", "bank": "course:ada-course"},
                     content=zipped(files), headers=world.headers(ada))
    assert reply.status_code == 400, reply.text
    assert said in reply.json()["error"]["details"][0]["message"]
    assert keys(world) == 0


def test_one_bad_file_refuses_them_all_at_its_line(world: World) -> None:
    api = world.client
    assert api is not None
    ada = world.author("ada")
    bad = ITEM.replace("id: tie-loss", "id: zip-two").replace("answer: ranking_loss(r, 0)", "answer: nope(r)")
    reply = api.post("/api/v1/items/import", params={"format": "yaml", "bank": "course:ada-course"},
                     content=zipped(folder(**{"bank/ch9/zip-two.yaml": bad})), headers=world.headers(ada))
    assert reply.status_code == 400, reply.text
    found = reply.json()["error"]["details"]
    assert [(d["file"], d["line"]) for d in found] == [("import.yaml/bank/ch9/zip-two.yaml", 8)]
    assert keys(world) == 0
    assert world.db.scalar(select(func.count(Declarations.id))) == 0


def test_a_zip_bomb_and_too_many_files_are_refused_unread(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    api = world.client
    assert api is not None
    ada = world.author("ada")
    bomb = zipped(folder(**{"bank/ch9/zip-bomb.yaml": b"#" * 6_000_000}))
    assert len(bomb) < 100_000  # six megabytes of one byte, deflated
    reply = api.post("/api/v1/items/import", params={"format": "yaml", "bank": "course:ada-course"},
                     content=bomb, headers=world.headers(ada))
    assert reply.status_code == 400
    assert "bank/ch9/zip-bomb.yaml is over 5 MB uncompressed and was not read" in reply.text
    monkeypatch.setattr(yaml_folder, "MAX_FILES", 1)
    reply = api.post("/api/v1/items/import", params={"format": "yaml", "bank": "course:ada-course"},
                     content=zipped(folder()), headers=world.headers(ada))
    assert reply.status_code == 400 and "the zip holds 2 YAML files, more than 1" in reply.text
    assert keys(world) == 0


def test_the_import_page_reports_a_zipped_folder_before_importing_it(world: World) -> None:
    api = world.client
    assert api is not None
    world.author("ada")
    sign_in(api, "ada")
    token = csrf(api, "/bank/import")
    upload = api.post("/bank/import", data={"csrf_token": token, "format": "auto", "bank": "course:ada-course"},
                      files={"file": ("bank.zip", zipped(folder()), "application/zip")}, follow_redirects=False)
    assert upload.status_code == 303
    report = api.get(upload.headers["location"])
    assert report.status_code == 200 and "Assay YAML" in report.text
    assert report.text.count("imported as a new item") == 2 and "Import these" in report.text
    assert keys(world) == 0  # not yet
    done = api.post(upload.headers["location"], data={"csrf_token": token})
    assert done.status_code == 200 and "2 new" in done.text
    assert keys(world) == 2
