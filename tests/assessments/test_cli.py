"""The command line against a fresh data folder: migrations, accounts, content and the demo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from assessments.cli import _demo, app
from assessments.config import get_settings
from assessments.db import Database, session_scope
from assessments.models import Quiz, User


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ASSAY_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_fresh_folder_upgrade_user_and_content(data_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (data_dir / "assay.sqlite3").exists()
    result = runner.invoke(app, ["user", "create", "ada", "--role", "instructor", "--password", "a long password"])
    assert result.exit_code == 0 and "created instructor ada" in result.output
    again = runner.invoke(app, ["user", "create", "ada", "--password", "a long password"])
    assert again.exit_code == 1 and "taken" in again.output
    short = runner.invoke(app, ["user", "create", "bob", "--password", "short"])
    assert short.exit_code == 2 and "password" in short.output

    bank = data_dir / "bank"
    bank.mkdir()
    (bank / "bank.yaml").write_text("facets: {}\nconcepts: {}\n")
    (bank / "broken.yaml").write_text("id: broken\ntype: numeric\ntitle: t\nstem: s\nanswer: 1 +\n")
    result = runner.invoke(app, ["content", "load", str(bank)])
    assert result.exit_code == 1 and "broken.yaml:5:" in result.output


def test_demo_makes_accounts_course_and_quiz_once(data_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    settings = get_settings()
    _demo(settings)
    _demo(settings)  # idempotent: passwords renewed, nothing duplicated
    database = Database(settings.resolved_database_url)
    with session_scope(database) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 2
        assert session.scalar(select(func.count()).select_from(Quiz)) == 1
    database.dispose()


def test_content_import_and_export_through_the_cli(data_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    gift = data_dir / "quiz.gift.txt"
    gift.write_text("::sum:: What is 1+1? {=2 ~3 ~4}\n")
    result = runner.invoke(app, ["content", "import", str(gift), "--format", "gift"])
    assert result.exit_code == 0, result.output
    assert "1 items: 1 new" in result.output
    out = data_dir / "bank.moodle.xml"
    result = runner.invoke(app, ["content", "export", str(out), "--format", "moodlexml"])
    assert result.exit_code == 0, result.output
    assert '<question type="multichoice">' in out.read_text()
    bad = data_dir / "bad.gift.txt"
    bad.write_text("::x:: Unclosed {=a ~b\n")
    result = runner.invoke(app, ["content", "import", str(bad), "--format", "gift"])
    assert result.exit_code == 1 and "bad.gift.txt:1:" in result.output
