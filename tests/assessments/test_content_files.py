"""The bank as files and the database: ``content load`` and ``content export DIR`` round-trip the
shipped bank without a new version, an export checks clean, and a file never silently overwrites
an item changed in the browser (a conflict, resolved only by --theirs or --ours)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from assessments.bank import authoring, repository
from assessments.bank.content_sync import Resolve, export_folder, load_content
from assessments.cli import app as cli
from assessments.errors import Conflict
from assessments.models import Item, ItemVersion, Role, VersionOrigin
from engine.content.checker import check
from tests.assessments.conftest import T0, World
from tests.assessments.test_authoring import principal_of
from tests.conftest import ROOT

ITEM = "foundations-of-llms/ch4-alignment/reward-models/bradley-terry-preference-probability.yaml"


@pytest.fixture
def bank_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(ROOT / "content", folder, ignore=shutil.ignore_patterns("README.md"))
    return folder


def versions(db: Session) -> int:
    return int(db.scalar(select(func.count(ItemVersion.id))) or 0)


@pytest.mark.slow
def test_load_export_load_makes_no_new_version_and_the_export_checks_clean(db: Session, bank_copy: Path,
                                                                          tmp_path: Path) -> None:
    first = load_content(db, bank_copy, actor_id=None, now=T0)
    assert first.created + first.new_versions + first.unchanged == len(first.items) > 70
    stored = db.scalars(select(ItemVersion).join(Item, Item.id == ItemVersion.item_id)
                        .where(Item.key == "bradley-terry-preference-probability")
                        .order_by(ItemVersion.number.desc())).first()
    assert stored is not None and stored.origin == VersionOrigin.FILE
    assert stored.source_text == (bank_copy / ITEM).read_text()  # comments and all
    before = versions(db)

    out = tmp_path / "exported"
    loaded = {r.key for r in first.items}  # the test database holds the engine's samples too
    rows = [(i, v) for i, v in db.execute(repository.current_versions_query([], None, None)).all() if i.key in loaded]
    exported = export_folder(db, out, rows, bank_copy / "bank.yaml")
    assert ITEM in exported.files
    assert (out / ITEM).read_bytes() == (bank_copy / ITEM).read_bytes()
    assert (out / "bank.yaml").read_bytes() == (bank_copy / "bank.yaml").read_bytes()
    report = check(out, variants=50, strict=True)
    assert report.ok, [str(p) for p in report.problems[:5]]

    again = load_content(db, out, actor_id=None, now=T0)
    assert again.created == again.new_versions == 0
    assert versions(db) == before


def test_a_file_does_not_overwrite_an_item_changed_in_the_browser(db: Session, world: World,
                                                                  bank_copy: Path) -> None:
    load_content(db, bank_copy / "foundations-of-llms" / "ch4-alignment" / "reward-models", actor_id=None, now=T0)
    # An administrator edits the item in the browser...
    admin = world.user("librarian", Role.ADMIN)
    _, version, _ = repository_current(db, "bradley-terry-preference-probability")
    edited = authoring.text_of(version).replace("title: ", "title: Edited - ", 1)
    _, saved = authoring.save_text(db, principal_of(admin), edited, bank_slug=None, now=T0,
                                   editing="bradley-terry-preference-probability")
    assert saved is not None and saved.created
    # ...and someone changes the file too.
    path = bank_copy / ITEM
    path.write_text(path.read_text().replace("title: ", "title: Filed - ", 1))
    before = versions(db)
    with pytest.raises(Conflict) as refused:
        load_content(db, bank_copy / "foundations-of-llms" / "ch4-alignment" / "reward-models", actor_id=None,
                     now=T0)
    [detail] = refused.value.details
    assert detail["file"].endswith("bradley-terry-preference-probability.yaml")
    assert f"version {saved.version}, browser by Librarian" in detail["message"]
    assert versions(db) == before

    ours = load_content(db, bank_copy / "foundations-of-llms" / "ch4-alignment" / "reward-models", actor_id=None,
                        now=T0, resolve=Resolve.OURS)
    assert "bradley-terry-preference-probability" not in {r.key for r in ours.items}
    assert repository_current(db, "bradley-terry-preference-probability")[1].title.startswith("Edited - ")

    theirs = load_content(db, bank_copy / "foundations-of-llms" / "ch4-alignment" / "reward-models",
                          actor_id=None, now=T0, resolve=Resolve.THEIRS)
    assert "bradley-terry-preference-probability" in {r.key for r in theirs.items}
    current = repository_current(db, "bradley-terry-preference-probability")[1]
    assert current.title.startswith("Filed - ") and current.origin == VersionOrigin.FILE


def repository_current(db: Session, key: str) -> tuple[Item, ItemVersion, None]:
    item = repository.item_by_key(db, key)
    assert item is not None
    version = repository.current_version(db, item)
    assert version is not None
    return item, version, None


def test_the_command_line_reports_a_conflict_and_takes_theirs_or_ours(tmp_path: Path, bank_copy: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path / "data"))
    from assessments.config import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    folder = bank_copy / "foundations-of-llms" / "ch4-alignment" / "reward-models"
    loaded = runner.invoke(cli, ["content", "load", str(folder)])
    assert loaded.exit_code == 0, loaded.output
    edited = tmp_path / "edited.yaml"
    edited.write_text((bank_copy / ITEM).read_text().replace("title: ", "title: Imported - ", 1))
    imported = runner.invoke(cli, ["content", "import", str(edited)])
    assert imported.exit_code == 0, imported.output
    (bank_copy / ITEM).write_text((bank_copy / ITEM).read_text().replace("title: ", "title: Filed - ", 1))
    refused = runner.invoke(cli, ["content", "load", str(folder)])
    assert refused.exit_code == 1 and "was changed outside the files" in refused.output
    assert "--theirs" in refused.output
    both = runner.invoke(cli, ["content", "load", str(folder), "--theirs", "--ours"])
    assert both.exit_code == 2
    assert runner.invoke(cli, ["content", "load", str(folder), "--theirs"]).exit_code == 0
    out = tmp_path / "exported"
    written = runner.invoke(cli, ["content", "export", str(out), "--format", "yaml"])
    assert written.exit_code == 0 and "bank.yaml" in written.output
    # Loaded from the folder of reward models, the file goes back where that folder had it.
    assert "title: Filed - " in (out / Path(ITEM).name).read_text()
    not_empty = runner.invoke(cli, ["content", "export", str(out)])
    assert not_empty.exit_code == 1 and "not empty" in not_empty.output
    get_settings.cache_clear()
