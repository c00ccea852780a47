"""Attempt summaries: an attempt's answer summaries packed into one row, what statistics read of it.

Written from then on with the answer summaries (an attempt finishing, a manual grade, a cleared
grade, a committed regrade); here, for every attempt whose current question attempts all have
an answer summary (in batches, by attempt id). An attempt left without one is read from its
answer summaries (slower, the same figures).

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import math
import struct
from typing import Any

import sqlalchemy as sa

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

BATCH = 2_000
"""Attempts packed per query."""

_ATTEMPTS = """
SELECT DISTINCT attempt_id FROM answer_summaries WHERE attempt_id > :after ORDER BY attempt_id LIMIT :batch
"""
_ANSWERS = """
SELECT qa.attempt_id, qa.slot, qa.item_version_id, qa.max_mark, qa.seed,
       CASE WHEN s.state = 'needsgrading' THEN NULL ELSE s.fraction END AS fraction,
       s.misconception, s.chosen, s.options, s.drawn
  FROM question_attempts qa
  LEFT JOIN answer_summaries s ON s.question_attempt_id = qa.id
 WHERE qa.replaced_at IS NULL AND qa.attempt_id BETWEEN :first AND :last
 ORDER BY qa.attempt_id, qa.slot
"""


# As the application packs an attempt's summaries when this revision was written
# (assessments.reports.packed), kept here as it was.

SEPARATOR = "\x1f"
NUMBERS = struct.Struct("<iihhhHqdd")


def _drawn(text: str | None) -> tuple[str, list[float] | None]:
    """A drawn-parameters text (names, ``|``, a number per name and a mask) as its names and numbers."""
    if text is None:
        return "", []
    names, _, numbers = text.partition("|")
    try:
        values = [float(number) for number in numbers.split()]
    except ValueError:
        return names, None
    return names, values if len(values) == (names.count(" ") + 1 if names else 0) + 1 else None


def _pack(rows: list[Any]) -> tuple[bytes, str, bytes, bytes] | None:
    """Per question attempt in slot order: its numbers (slot, item version, options, how many chosen
    indices and drawn numbers, which texts, seed, max mark, fraction); those of its misconception
    and drawn parameters' names that are not empty, each ended by the separator; its drawn numbers
    (little-endian doubles); its chosen options' indices (little-endian 4-byte integers). None: not
    packable (read from the answer summaries)."""
    numbers, texts, drawn, chosen = [], [], [], []
    try:
        for row in sorted(rows, key=lambda r: r.slot):
            names, values = _drawn(row.drawn)
            if values is None:
                return None
            picked = [int(index) for index in row.chosen.split()] if row.chosen else []
            own = (row.misconception, names)
            numbers.append(NUMBERS.pack(row.slot, row.item_version_id, row.options, len(picked),
                                        len(values) if row.drawn is not None else -1,
                                        sum(1 << k for k, text in enumerate(own) if text), row.seed, row.max_mark,
                                        math.nan if row.fraction is None else row.fraction))
            texts.extend(text for text in own if text)
            drawn.extend(values)
            chosen.extend(picked)
        packed_chosen = struct.pack(f"<{len(chosen)}i", *chosen)
    except (struct.error, ValueError):
        return None
    if any(SEPARATOR in text for text in texts):
        return None
    return (b"".join(numbers), "".join(text + SEPARATOR for text in texts),
            struct.pack(f"<{len(drawn)}d", *drawn), packed_chosen)


def upgrade() -> None:
    table = op.create_table(
        "attempt_summaries",
        sa.Column("attempt_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("numbers", sa.LargeBinary(), nullable=False),
        sa.Column("texts", sa.Text(), nullable=False),
        sa.Column("drawn", sa.LargeBinary(), nullable=False),
        sa.Column("chosen", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], name=op.f("fk_attempt_summaries_attempt_id_attempts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_attempt_summaries")),
    )
    assert table is not None
    connection = op.get_bind()
    after = 0
    while True:
        ids = connection.execute(sa.text(_ATTEMPTS), {"after": after, "batch": BATCH}).scalars().all()
        if not ids:
            break
        wanted = set(ids)
        by_attempt: dict[int, list[Any]] = {}
        for row in connection.execute(sa.text(_ANSWERS), {"first": ids[0], "last": ids[-1]}):
            if row.attempt_id in wanted:
                by_attempt.setdefault(row.attempt_id, []).append(row)
        packed = []
        for attempt_id, rows in by_attempt.items():
            made = _pack(rows) if all(row.options is not None for row in rows) else None
            if made is not None:
                packed.append({"attempt_id": attempt_id, "numbers": made[0], "texts": made[1], "drawn": made[2],
                               "chosen": made[3]})
        if packed:
            connection.execute(table.insert(), packed)
        after = ids[-1]


def downgrade() -> None:
    op.drop_table("attempt_summaries")
