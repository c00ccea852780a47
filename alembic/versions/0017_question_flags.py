"""Flags on questions: a student's "come back to this" marks, kept with the question attempt on
the server, so that they follow the student to another device and into one-question-per-page mode.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('question_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flagged', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('question_attempts', schema=None) as batch_op:
        batch_op.drop_column('flagged')
