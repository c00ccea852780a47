"""users.session_generation: the generation a session or access token must carry to count.

Signing out and deactivating a user add one to it, ending every session cookie and access token
made before. Existing rows start at 0, the generation that sessions and tokens made before this
revision (which carry none) are read as, so upgrading signs nobody out.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('session_generation', sa.Integer(), server_default=sa.text('0'),
                                     nullable=False))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place: no batch copy of users, whose rows others reference.
    op.drop_column('users', 'session_generation')
