"""A quiz's life and accommodations: quiz states (existing quizzes stay published) with scheduled
publication, staff attempts marked as previews, course groups, and per-student and per-group
overrides of a quiz's dates, time limit and attempts.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

STATUS = sa.Enum('draft', 'published', 'closed', 'archived', name='quizstatus', native_enum=False, length=20)


def upgrade() -> None:
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', STATUS, server_default='published', nullable=False))
        batch_op.add_column(sa.Column('publish_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preview', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table('course_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_groups_course_id_courses'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_groups')),
    sa.UniqueConstraint('course_id', 'name', name=op.f('uq_course_groups_course_id_name'))
    )
    with op.batch_alter_table('course_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_groups_course_id'), ['course_id'], unique=False)

    op.create_table('course_group_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['course_groups.id'],
                            name=op.f('fk_course_group_members_group_id_course_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_course_group_members_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_group_members')),
    sa.UniqueConstraint('group_id', 'user_id', name=op.f('uq_course_group_members_group_id_user_id'))
    )
    with op.batch_alter_table('course_group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_group_members_user_id'), ['user_id'], unique=False)

    op.create_table('quiz_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('open_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('close_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('time_limit_minutes', sa.Integer(), nullable=True),
    sa.Column('time_multiplier', sa.Double(), nullable=True),
    sa.Column('attempts_allowed', sa.Integer(), nullable=True),
    sa.Column('unlimited_attempts', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['course_groups.id'], name=op.f('fk_quiz_overrides_group_id_course_groups'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_quiz_overrides_quiz_id_quizzes'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_quiz_overrides_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_overrides')),
    sa.UniqueConstraint('quiz_id', 'group_id', name=op.f('uq_quiz_overrides_quiz_id_group_id')),
    sa.UniqueConstraint('quiz_id', 'user_id', name=op.f('uq_quiz_overrides_quiz_id_user_id'))
    )
    with op.batch_alter_table('quiz_overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_overrides_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_overrides_quiz_id'), ['quiz_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_overrides_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_table('quiz_overrides')
    op.drop_table('course_group_members')
    op.drop_table('course_groups')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_column('preview')
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.drop_column('publish_at')
        batch_op.drop_column('status')
