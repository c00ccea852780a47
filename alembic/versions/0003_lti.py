"""LTI 1.3: platform registrations, signing keys, nonces, contexts, resource links, score targets.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lti_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('private_key_pem', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retire_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_keys')),
    sa.UniqueConstraint('kid', name=op.f('uq_lti_keys_kid'))
    )
    op.create_table('lti_platforms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('deployment_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('auth_login_url', sa.String(length=1000), nullable=False),
    sa.Column('auth_token_url', sa.String(length=1000), nullable=False),
    sa.Column('jwks_url', sa.String(length=1000), nullable=False),
    sa.Column('jwks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('jwks_fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_platforms')),
    sa.UniqueConstraint('issuer', 'client_id', name=op.f('uq_lti_platforms_issuer_client_id'))
    )
    op.create_table('lti_contexts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('context_id', sa.String(length=255), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('memberships_url', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_lti_contexts_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_contexts_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_contexts')),
    sa.UniqueConstraint('platform_id', 'context_id', name=op.f('uq_lti_contexts_platform_id_context_id'))
    )
    with op.batch_alter_table('lti_contexts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_contexts_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_contexts_platform_id'), ['platform_id'], unique=False)

    op.create_table('lti_nonces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=100), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_nonces_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_nonces')),
    sa.UniqueConstraint('nonce', name=op.f('uq_lti_nonces_nonce'))
    )
    with op.batch_alter_table('lti_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_nonces_platform_id'), ['platform_id'], unique=False)

    op.create_table('lti_resource_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('resource_link_id', sa.String(length=255), nullable=False),
    sa.Column('deployment_id', sa.String(length=255), nullable=False),
    sa.Column('context_id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('lineitems_url', sa.String(length=1000), nullable=True),
    sa.Column('lineitem_url', sa.String(length=1000), nullable=True),
    sa.Column('ags_scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['context_id'], ['lti_contexts.id'], name=op.f('fk_lti_resource_links_context_id_lti_contexts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_resource_links_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_lti_resource_links_quiz_id_quizzes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_resource_links')),
    sa.UniqueConstraint('platform_id', 'resource_link_id', name=op.f('uq_lti_resource_links_platform_id_resource_link_id'))
    )
    with op.batch_alter_table('lti_resource_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_resource_links_context_id'), ['context_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_resource_links_platform_id'), ['platform_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_resource_links_quiz_id'), ['quiz_id'], unique=False)

    op.create_table('lti_score_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lti_user_id', sa.String(length=255), nullable=False),
    sa.Column('sent_score', sa.Double(), nullable=True),
    sa.Column('sent_progress', sa.String(length=20), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['link_id'], ['lti_resource_links.id'], name=op.f('fk_lti_score_targets_link_id_lti_resource_links'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_score_targets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_score_targets')),
    sa.UniqueConstraint('link_id', 'user_id', name=op.f('uq_lti_score_targets_link_id_user_id'))
    )
    with op.batch_alter_table('lti_score_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_score_targets_link_id'), ['link_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_score_targets_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('lti_score_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_score_targets_user_id'))
        batch_op.drop_index(batch_op.f('ix_lti_score_targets_link_id'))

    op.drop_table('lti_score_targets')
    with op.batch_alter_table('lti_resource_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_resource_links_quiz_id'))
        batch_op.drop_index(batch_op.f('ix_lti_resource_links_platform_id'))
        batch_op.drop_index(batch_op.f('ix_lti_resource_links_context_id'))

    op.drop_table('lti_resource_links')
    with op.batch_alter_table('lti_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_nonces_platform_id'))

    op.drop_table('lti_nonces')
    with op.batch_alter_table('lti_contexts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_contexts_platform_id'))
        batch_op.drop_index(batch_op.f('ix_lti_contexts_course_id'))

    op.drop_table('lti_contexts')
    op.drop_table('lti_platforms')
    op.drop_table('lti_keys')
