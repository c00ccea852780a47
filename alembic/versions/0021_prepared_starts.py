"""Prepared starts: seeds and variants generated before a quiz opens, so that a start only inserts.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'prepared_starts',
        sa.Column('quiz_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('seed', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_prepared_starts_quiz_id_quizzes'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_prepared_starts_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('quiz_id', 'user_id', name=op.f('pk_prepared_starts')),
    )
    op.create_table(
        'prepared_variants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_version_id', sa.Integer(), nullable=False),
        sa.Column('seed', sa.BigInteger(), nullable=False),
        sa.Column('shuffle', sa.Boolean(), nullable=False),
        sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.ForeignKeyConstraint(['item_version_id'], ['item_versions.id'],
                                name=op.f('fk_prepared_variants_item_version_id_item_versions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_prepared_variants')),
        sa.UniqueConstraint('item_version_id', 'seed', 'shuffle',
                            name=op.f('uq_prepared_variants_item_version_id_seed_shuffle')),
    )


def downgrade() -> None:
    op.drop_table('prepared_variants')
    op.drop_table('prepared_starts')
