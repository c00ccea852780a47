"""Quiz statistics kept between asks: one row per quiz with the fingerprint it was computed from.

Revision ID: 0020
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision = "0020"
down_revision = "0027"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "quiz_statistics",
        sa.Column("quiz_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=120), nullable=False),
        sa.Column("statistics", JSON, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.id"], name=op.f("fk_quiz_statistics_quiz_id_quizzes"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("quiz_id", name=op.f("pk_quiz_statistics")),
    )


def downgrade() -> None:
    op.drop_table("quiz_statistics")
