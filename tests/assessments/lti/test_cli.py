"""``assay lti register`` and ``assay lti rotate-key`` on a fresh data folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assessments.cli import app
from assessments.config import get_settings
from assessments.db import Database, session_scope
from assessments.lti import keys
from assessments.models import LtiPlatform, utcnow


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ASSAY_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_register_a_platform_and_rotate_our_key(data_dir: Path) -> None:
    runner = CliRunner()
    args = ["lti", "register", "--issuer", "https://lms.example.edu", "--client-id", "assay",
            "--deployment-id", "d1", "--deployment-id", "d2", "--auth-login-url", "https://lms.example.edu/auth",
            "--auth-token-url", "https://lms.example.edu/token", "--jwks-url", "https://lms.example.edu/jwks"]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "registered https://lms.example.edu" in done.output
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "already registered" in again.output
    bad = runner.invoke(app, [*args[:-1], "not-a-url"])
    assert bad.exit_code == 2

    database = Database(get_settings().resolved_database_url)
    with session_scope(database) as session:
        platform = session.query(LtiPlatform).one()
        assert platform.deployment_ids == ["d1", "d2"]
        old = keys.signing_key(session, utcnow()).kid
    rotated = runner.invoke(app, ["lti", "rotate-key", "--grace-days", "1"])
    assert rotated.exit_code == 0, rotated.output
    with session_scope(database) as session:
        published = [k["kid"] for k in keys.published(session, utcnow())["keys"]]
        new = keys.signing_key(session, utcnow()).kid
    database.dispose()
    assert new != old and published == [old, new]


def test_sync_scores_and_roster_with_nothing_to_do(data_dir: Path) -> None:
    runner = CliRunner()
    scores = runner.invoke(app, ["lti", "sync-scores"])
    assert scores.exit_code == 0 and "queued 0 score(s)" in scores.output
    roster = runner.invoke(app, ["lti", "sync-roster"])
    assert roster.exit_code == 0 and roster.output == ""
