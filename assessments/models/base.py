"""The declarative base: stable constraint names, UTC datetimes and JSON that suits each database."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Enum, MetaData, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONData = JSON().with_variant(JSONB(), "postgresql")

OrderedJSON = JSON()
"""JSON kept as written, its keys in their order (PostgreSQL's ``json``, not ``jsonb``, which sorts
keys): an item's definition, whose ``params`` are drawn and whose ``compute`` entries are evaluated
in the order the author wrote them."""


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite keeps no zone: store UTC, read it back aware)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Assay stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_values(enum_class: type[enum.Enum]) -> list[str]:
    """Store an enum's values (``"student"``), not its member names."""
    return [str(member.value) for member in enum_class]


def enum_column(enum_class: type[enum.Enum]) -> Enum:
    """A string column holding an enum's values, checked by SQLAlchemy, portable to any database."""
    return Enum(enum_class, native_enum=False, length=20, values_callable=enum_values)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSONData}
