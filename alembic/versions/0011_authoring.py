"""Authoring in the browser: where each version came from, the YAML its author wrote, and
uploaded files waiting for "import these".

Versions made before this revision get their origin from ``source``: ``api`` was the REST API,
``import.<format>`` an import, anything else a file.

Revision ID: 0011
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None

ORIGIN = sa.Enum('file', 'browser', 'api', 'import', name='versionorigin', native_enum=False, length=20)


def upgrade() -> None:
    op.create_table('import_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bank_id'], ['banks.id'], name=op.f('fk_import_drafts_bank_id_banks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_drafts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_drafts')),
    sa.UniqueConstraint('token', name=op.f('uq_import_drafts_token'))
    )
    with op.batch_alter_table('import_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_drafts_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_drafts_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', ORIGIN, nullable=True))
        batch_op.add_column(sa.Column('source_text', sa.Text(), nullable=True))
    op.execute("UPDATE item_versions SET origin = CASE WHEN source = 'api' THEN 'api' "
               "WHEN source LIKE 'import.%' THEN 'import' ELSE 'file' END")
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.alter_column('origin', existing_type=ORIGIN, nullable=False)



def downgrade() -> None:
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.drop_column('source_text')
        batch_op.drop_column('origin')

    with op.batch_alter_table('import_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_drafts_user_id'))
        batch_op.drop_index(batch_op.f('ix_import_drafts_created_at'))

    op.drop_table('import_drafts')
