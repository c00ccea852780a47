"""How a backup writes one row as one line of JSON, whatever the database, and reads it back.

A line is a JSON object from column name to value (keys sorted, no spaces, UTF-8), so the same
rows give the same bytes, and the same checksum, on SQLite and PostgreSQL. A column left out is
SQL ``NULL``; a present ``null`` is only ever JSON's null inside a JSON column (the two differ in a
database and both survive). Each column has a *kind*, fixed by its SQLAlchemy type:

========  ======================================================================================
kind      value in the line
========  ======================================================================================
integer   a JSON integer
float     a JSON number with Python's shortest exact repr; ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
decimal   a string (``"12.50"``), exact
string    a JSON string (an enum column holds its stored value)
boolean   ``true`` / ``false``
datetime  ISO 8601 with its UTC offset (``2026-11-02T09:00:00.250000+00:00``); date and time alike
bytes     base64
uuid      the canonical hex string
json      the JSON document itself
========  ======================================================================================
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    Row,
    Select,
    String,
    Table,
    Time,
    TypeDecorator,
    Uuid,
    null,
    select,
)
from sqlalchemy.types import TypeEngine

__all__ = ["Kind", "TableCodec", "kind_of"]


class Kind(enum.StrEnum):
    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    DATE = "date"
    TIME = "time"
    BYTES = "bytes"
    UUID = "uuid"
    JSON = "json"


# Order matters: Enum is a String, Float a Numeric, Boolean and JSON stand apart.
_KINDS: list[tuple[type[TypeEngine[Any]], Kind]] = [
    (JSON, Kind.JSON), (Boolean, Kind.BOOLEAN), (Enum, Kind.STRING), (Integer, Kind.INTEGER),
    (Float, Kind.FLOAT), (Numeric, Kind.DECIMAL), (DateTime, Kind.DATETIME), (Date, Kind.DATE),
    (Time, Kind.TIME), (LargeBinary, Kind.BYTES), (Uuid, Kind.UUID), (String, Kind.STRING),
]
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _storage_type(column: Column[Any]) -> TypeEngine[Any]:
    """The type under any decorators (``UTCDateTime`` is a ``DateTime(timezone=True)``)."""
    storage = column.type
    while isinstance(storage, TypeDecorator):
        storage = storage.impl_instance
    return storage


def kind_of(column: Column[Any]) -> Kind:
    kind_type = _storage_type(column)
    for base, kind in _KINDS:
        if isinstance(kind_type, base):
            return kind
    raise TypeError(f"column {column.table.name}.{column.name} has type {column.type!r}, which Assay's backup "
                    "cannot encode: teach assessments/backup_codec.py its kind")


def _encode_float(value: Any) -> Any:
    number = float(value)
    if math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


def _iso(value: Any) -> str:
    return str(value.isoformat())


ENCODERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.INTEGER: int,
    Kind.FLOAT: _encode_float,
    Kind.DECIMAL: str,
    Kind.STRING: lambda value: str(value.value) if isinstance(value, enum.Enum) else str(value),
    Kind.BOOLEAN: bool,
    Kind.DATETIME: _iso,
    Kind.DATE: _iso,
    Kind.TIME: _iso,
    Kind.BYTES: lambda value: base64.b64encode(bytes(value)).decode("ascii"),
    Kind.UUID: lambda value: str(uuid.UUID(str(value))),
    Kind.JSON: lambda value: value,
}


def _expect(value: Any, kinds: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kinds) or (isinstance(value, bool) and kinds in (int, (int, float))):
        raise ValueError(f"{json.dumps(value)[:40]} is not {what}")
    return value


def _decode_float(value: Any) -> float:
    if isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    return float(_expect(value, (int, float), "a number"))


def _decode_decimal(value: Any) -> Decimal:
    try:
        return Decimal(_expect(value, str, "a decimal string"))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal") from None


def _decode_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(_expect(value, str, "an ISO 8601 time"))


def _decode_bytes(value: Any) -> bytes:
    try:
        return base64.b64decode(_expect(value, str, "base64"), validate=True)
    except binascii.Error:
        raise ValueError(f"{value[:40]!r} is not base64") from None


DECODERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.INTEGER: lambda value: _expect(value, int, "an integer"),
    Kind.FLOAT: _decode_float,
    Kind.DECIMAL: _decode_decimal,
    Kind.STRING: lambda value: _expect(value, str, "a string"),
    Kind.BOOLEAN: lambda value: _expect(value, bool, "true or false"),
    Kind.DATETIME: _decode_datetime,
    Kind.DATE: lambda value: date.fromisoformat(_expect(value, str, "an ISO 8601 date")),
    Kind.TIME: lambda value: time.fromisoformat(_expect(value, str, "an ISO 8601 time of day")),
    Kind.BYTES: _decode_bytes,
    Kind.UUID: lambda value: uuid.UUID(_expect(value, str, "a UUID")),
    Kind.JSON: lambda value: JSON.NULL if value is None else value,
}


_WRITER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _line(row: dict[str, Any]) -> bytes:
    return _WRITER.encode(row).encode() + b"\n"


@dataclass(frozen=True)
class TableCodec:
    """One table's columns and kinds: the query that reads it, and its rows to and from lines."""

    table: Table
    columns: list[Column[Any]]
    kinds: list[Kind]
    plan: list[tuple[str, int, Callable[[Any], Any] | None, int]]
    """Per column: its name, its place in a row, its encoder (None: JSON, as it is) and, for a JSON
    column, the place of its SQL NULL flag (else -1). Worked out once: encode runs per row."""

    @classmethod
    def of(cls, table: Table) -> TableCodec:
        columns = list(table.columns)
        kinds = [kind_of(column) for column in columns]
        plan: list[tuple[str, int, Callable[[Any], Any] | None, int]] = []
        flags = len(columns)
        for place, (column, kind) in enumerate(zip(columns, kinds, strict=True)):
            if kind is Kind.JSON:
                plan.append((column.name, place, None, flags))
                flags += 1
            else:
                plan.append((column.name, place, ENCODERS[kind], -1))
        return cls(table, columns, kinds, plan)

    @property
    def json_columns(self) -> list[Column[Any]]:
        return [c for c, k in zip(self.columns, self.kinds, strict=True) if k is Kind.JSON]

    def select(self) -> Select[Any]:
        """Every column in primary-key order, then, per JSON column, whether it is SQL NULL (its
        value reads as None either way)."""
        order = list(self.table.primary_key.columns) or self.columns
        return select(*self.columns, *(c.is_(None) for c in self.json_columns)).order_by(*order)

    def encode(self, row: Row[Any]) -> bytes:
        line: dict[str, Any] = {}
        for name, place, encoder, sql_null in self.plan:
            value = row[place]
            if encoder is None:
                if not row[sql_null]:
                    line[name] = value
            elif value is not None:
                line[name] = encoder(value)
        return _line(line)

    def decode(self, text: bytes) -> dict[str, Any]:
        """A line as insert parameters for every column; ValueError says which column is wrong."""
        try:
            line = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"not a line of JSON ({exc})") from None
        if not isinstance(line, dict):
            raise ValueError("not a JSON object")  # noqa: TRY004 - a bad line, not a bad call
        if unknown := sorted(line.keys() - {c.name for c in self.columns}):
            raise ValueError(f"{self.table.name} has no column {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for column, kind in zip(self.columns, self.kinds, strict=True):
            if column.name not in line:
                if not column.nullable:
                    raise ValueError(f"column {column.name} is missing and cannot be NULL")
                values[column.name] = null() if kind is Kind.JSON else None
                continue
            value = line[column.name]
            if value is None and kind is not Kind.JSON:
                raise ValueError(f"column {column.name}: null (a NULL is written by leaving the column out)")
            try:
                values[column.name] = decoded = DECODERS[kind](value)
            except ValueError as exc:
                raise ValueError(f"column {column.name}: {exc}") from None
            if kind is Kind.DATETIME and decoded.tzinfo is None and getattr(_storage_type(column), "timezone", False):
                raise ValueError(f"column {column.name}: {value!r} has no UTC offset")
        return values
