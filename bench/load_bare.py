"""The bare reference app of ``bench/load.py``: FastAPI with one endpoint that inserts one row.

It uses Assay's own :class:`assessments.db.Database` (so the same engine settings: SQLite in WAL mode
with ``BEGIN IMMEDIATE``, or the same PostgreSQL pool), one transaction committed inside the
endpoint, and ``bench/load.py`` serves it with the same uvicorn settings as ``assay serve``. What
Assay does beyond this (authentication, the engine, its queries) is what the ratio measures.

Serve it with ``uvicorn bench.load_bare:create_app --factory`` and ``ASSAY_DATABASE_URL`` set;
``create_table(url)`` makes its one table first.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import JSON, DateTime, Integer, MetaData, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from assessments.db import Database

TABLE = "bench_rows"


class _Base(DeclarativeBase):
    metadata = MetaData()


class Row(_Base):
    __tablename__ = TABLE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student: Mapped[int]
    n: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RowIn(BaseModel):
    student: int = Field(ge=0)
    n: int = Field(ge=0)
    payload: dict[str, Any] = Field(max_length=50)


class RowOut(BaseModel):
    id: int


def create_table(url: str) -> None:
    engine = create_engine(url)
    _Base.metadata.create_all(engine)
    engine.dispose()


def create_app() -> FastAPI:
    app = FastAPI(title="bare reference")
    app.state.database = Database(os.environ["ASSAY_DATABASE_URL"])

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/rows", status_code=status.HTTP_201_CREATED, response_model=RowOut)
    def insert(body: RowIn, request: Request) -> RowOut:
        # The plainest correct endpoint: one transaction, committed in the endpoint's own thread.
        database: Database = request.app.state.database
        with database.sessions() as session, session.begin():
            row = Row(student=body.student, n=body.n, payload=body.payload, created_at=datetime.now(UTC))
            session.add(row)
            session.flush()
            return RowOut(id=row.id)

    return app
