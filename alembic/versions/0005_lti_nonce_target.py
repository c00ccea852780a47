"""A login's target_link_uri, kept with its nonce: the launch's id_token must name the same one.

Logins begun before this revision have no target to compare with, so their nonces are dropped (a
nonce lives ten minutes; whoever was launching just then launches again).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM lti_nonces"))
    # SQLite cannot add a NOT NULL column without a default in place: batch mode copies the table.
    with op.batch_alter_table('lti_nonces', schema=None,
                              recreate='always' if op.get_bind().dialect.name == 'sqlite' else 'auto') as batch_op:
        batch_op.add_column(sa.Column('target_link_uri', sa.String(length=1000), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('lti_nonces', schema=None) as batch_op:
        batch_op.drop_column('target_link_uri')
