"""Items' 2PL calibrations, fitted from students' answers, for practice to choose by.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'item_calibrations',
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('difficulty', sa.Double(), nullable=False),
        sa.Column('discrimination', sa.Double(), nullable=False),
        sa.Column('difficulty_se', sa.Double(), nullable=False),
        sa.Column('responses', sa.Integer(), nullable=False),
        sa.Column('fitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_calibrations_item_id_items'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('item_id', name=op.f('pk_item_calibrations')),
    )


def downgrade() -> None:
    op.drop_table('item_calibrations')
