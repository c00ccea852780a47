"""The bank's listings read an index of what they filter on (type, title, computed), not the
versions' rows, whose large definitions SQLite would read through to reach the title.

Revision ID: 0026
Revises: 0023
"""

from __future__ import annotations

from alembic import op

revision = '0026'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_item_versions_listing', 'item_versions',
                    ['item_id', 'number', 'type', 'is_computed', 'title'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_item_versions_listing', table_name='item_versions')
