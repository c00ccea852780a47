"""An LMS link may open a practice: ``lti_resource_links.practice_id`` (its ``quiz_id`` becomes
optional; a link opens one or the other), and a score target keeps the completion the practice last
announced (``lti_score_targets.completion``, the fraction of concepts mastered) for the score job to send.

Revision ID: 0023
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lti_resource_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('practice_id', sa.Integer(), nullable=True))
        batch_op.alter_column('quiz_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_lti_resource_links_practice_id_practices'), 'practices',
                                    ['practice_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_lti_resource_links_practice_id'), ['practice_id'], unique=False)
        batch_op.create_check_constraint('one_target', '(quiz_id IS NULL) <> (practice_id IS NULL)')
    with op.batch_alter_table('lti_score_targets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('completion', sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lti_score_targets', schema=None) as batch_op:
        batch_op.drop_column('completion')
    op.execute('DELETE FROM lti_resource_links WHERE quiz_id IS NULL')
    with op.batch_alter_table('lti_resource_links', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_lti_resource_links_one_target'), type_='check')
        batch_op.drop_index(batch_op.f('ix_lti_resource_links_practice_id'))
        batch_op.drop_constraint(batch_op.f('fk_lti_resource_links_practice_id_practices'), type_='foreignkey')
        batch_op.drop_column('practice_id')
        batch_op.alter_column('quiz_id', existing_type=sa.Integer(), nullable=False)
