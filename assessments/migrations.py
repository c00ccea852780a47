"""Applying the Alembic migrations: the only way Assay's schema changes."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy import Connection

from alembic import command
from assessments.config import ROOT
from assessments.models.bank import is_text_search_index

SCRIPTS = ROOT / "alembic"


def compared(name: str | None, type_: str, _parent_names: object) -> bool:
    """What autogenerate compares with the models (its ``include_name``): all but the text search's
    index, which the database keeps itself."""
    return not (type_ in ("table", "index") and is_text_search_index(name))


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    if not (SCRIPTS / "env.py").is_file():
        raise RuntimeError(f"the migrations folder {SCRIPTS} is missing: install Assay from its repository")
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
