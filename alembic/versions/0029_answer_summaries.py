"""Answer summaries: one narrow row per graded question attempt, what statistics read of it.

Written from then on whenever a question attempt's grade may move (an attempt finishing, a manual
grade, a cleared grade, a committed regrade); here, for every current question attempt of every
finished attempt already there, from its steps (in batches, by question attempt id).

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

BATCH = 5_000
CHOICE_TYPES = ("single_choice", "multiple_response")

_SELECT = """
SELECT qa.id, qa.attempt_id, qa.slot, qa.item_version_id, qa.max_mark, qa.seed, st.seq, st.state, st.fraction,
       {misconception} AS misconception, {order} AS "order", {params} AS params,
       (SELECT {response} FROM question_attempt_steps r
         WHERE r.question_attempt_id = qa.id AND {response} != 'null'
         ORDER BY r.seq DESC LIMIT 1) AS response,
       iv.type, iv.is_computed
  FROM question_attempts qa
  JOIN attempts a ON a.id = qa.attempt_id
  JOIN item_versions iv ON iv.id = qa.item_version_id
  JOIN question_attempt_steps st ON st.question_attempt_id = qa.id
   AND st.seq = (SELECT max(x.seq) FROM question_attempt_steps x WHERE x.question_attempt_id = qa.id)
 WHERE a.state = 'finished' AND qa.replaced_at IS NULL AND qa.id > :after
 ORDER BY qa.id
 LIMIT :batch
"""
SQLITE = _SELECT.format(misconception="json_extract(st.data, '$.grade.misconception')",
                        order="json_extract(qa.variant, '$.order')", params="json_extract(qa.variant, '$.params')",
                        response="r.response")
POSTGRESQL = _SELECT.format(misconception="st.data #>> '{grade,misconception}'", order="qa.variant ->> 'order'",
                            params="qa.variant ->> 'params'", response="r.response::text")


# As the application summarises a question attempt when this revision was written
# (assessments.reports.summaries, assessments.reports.breakdown), kept here as they were.


def _chosen(item_type: str, order: Any, response: Any) -> list[int]:
    """The authored indices of the options a choice response chose."""
    if not order or not isinstance(response, dict):
        return []
    if item_type == "single_choice" and isinstance(response.get("choice"), int):
        positions = [response["choice"]]
    elif item_type == "multiple_response":
        positions = [p for p in response.get("choices") or [] if isinstance(p, int)]
    else:
        return []
    return [order[p] for p in positions if 0 <= p < len(order)]


def _scalar(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, list) and value and all(isinstance(v, int | float) for v in value):
        return sum(value) / len(value)
    return float("nan")


def _drawn_text(params: Any) -> str | None:
    """The drawn parameters' names (sorted), ``|``, the number each stands for, then a bit mask of
    those drawn as several numbers."""
    if not isinstance(params, dict):
        return None
    names = sorted(params)
    several = sum(1 << n for n, name in enumerate(names) if isinstance(params[name], list))
    return " ".join(names) + "|" + " ".join([*(repr(_scalar(params[name])) for name in names), str(several)])


def _summary(row: Any) -> dict[str, Any]:
    choice = row.type in CHOICE_TYPES
    order = json.loads(row.order) if choice and row.order else None
    response = json.loads(row.response) if choice and row.response else None
    chosen = _chosen(row.type, order, response) if order and response else []
    return {"question_attempt_id": row.id, "attempt_id": row.attempt_id, "slot": row.slot,
            "item_version_id": row.item_version_id, "max_mark": row.max_mark, "seed": row.seed, "seq": row.seq,
            "state": row.state, "fraction": row.fraction, "misconception": row.misconception,
            "chosen": " ".join(str(c) for c in chosen) or None,
            "options": len(order) if isinstance(order, list) else 0,
            "drawn": _drawn_text(json.loads(row.params)) if row.is_computed and row.params else None}


def upgrade() -> None:
    table = op.create_table(
        "answer_summaries",
        sa.Column("question_attempt_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("item_version_id", sa.Integer(), nullable=False),
        sa.Column("max_mark", sa.Double(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("fraction", sa.Double(), nullable=True),
        sa.Column("misconception", sa.Text(), nullable=True),
        sa.Column("chosen", sa.Text(), nullable=True),
        sa.Column("options", sa.Integer(), nullable=False),
        sa.Column("drawn", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], name=op.f("fk_answer_summaries_attempt_id_attempts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["question_attempt_id"], ["question_attempts.id"],
                                name=op.f("fk_answer_summaries_question_attempt_id_question_attempts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("question_attempt_id", name=op.f("pk_answer_summaries")),
    )
    op.create_index(op.f("ix_answer_summaries_attempt_id"), "answer_summaries", ["attempt_id"], unique=False)
    assert table is not None
    connection = op.get_bind()
    query = sa.text(SQLITE if connection.dialect.name == "sqlite" else POSTGRESQL)
    after = 0
    while True:
        rows = connection.execute(query, {"after": after, "batch": BATCH}).all()
        if not rows:
            break
        connection.execute(table.insert(), [_summary(row) for row in rows])
        after = rows[-1].id


def downgrade() -> None:
    op.drop_index(op.f("ix_answer_summaries_attempt_id"), table_name="answer_summaries")
    op.drop_table("answer_summaries")
