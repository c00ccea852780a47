"""The audit trail of grade changes: grade_changes, whose rows no UPDATE may change.

A trigger refuses every update of a row except the foreign key's own ``SET NULL`` of
``actor_id`` when a user is deleted (the row keeps ``actor_username``). Deleting rows is left to
the cascades from courses, quizzes and attempts. A later migration that rebuilds this table in
SQLite's batch mode must create the triggers again.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('grade_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('manual_grade', 'override', 'comment', 'regrade', name='gradechangekind', native_enum=False, length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_username', sa.String(length=80), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('question_attempt_id', sa.Integer(), nullable=False),
    sa.Column('step_seq', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=200), nullable=False),
    sa.Column('old_version', sa.Integer(), nullable=False),
    sa.Column('new_version', sa.Integer(), nullable=False),
    sa.Column('old_state', sa.String(length=20), nullable=False),
    sa.Column('new_state', sa.String(length=20), nullable=False),
    sa.Column('old_fraction', sa.Double(), nullable=True),
    sa.Column('new_fraction', sa.Double(), nullable=True),
    sa.Column('old_mark', sa.Double(), nullable=True),
    sa.Column('new_mark', sa.Double(), nullable=True),
    sa.Column('max_mark', sa.Double(), nullable=False),
    sa.Column('old_marks', sa.Double(), nullable=True),
    sa.Column('new_marks', sa.Double(), nullable=True),
    sa.Column('max_marks', sa.Double(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_grade_changes_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_grade_changes_attempt_id_attempts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_grade_changes_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_attempt_id'], ['question_attempts.id'], name=op.f('fk_grade_changes_question_attempt_id_question_attempts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_grade_changes_quiz_id_quizzes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_grade_changes_student_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grade_changes'))
    )
    with op.batch_alter_table('grade_changes', schema=None) as batch_op:
        batch_op.create_index('ix_grade_changes_attempt_id_id', ['attempt_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grade_changes_question_attempt_id'), ['question_attempt_id'], unique=False)
        batch_op.create_index('ix_grade_changes_quiz_id_id', ['quiz_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grade_changes_student_id'), ['student_id'], unique=False)
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table('grade_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grade_changes_student_id'))
        batch_op.drop_index('ix_grade_changes_quiz_id_id')
        batch_op.drop_index(batch_op.f('ix_grade_changes_question_attempt_id'))
        batch_op.drop_index('ix_grade_changes_attempt_id_id')

    op.drop_table('grade_changes')

TRIGGER = "grade_changes_append_only"
MESSAGE = "grade_changes rows are append-only"
GUARDED = ("id", "at", "kind", "actor_username", "course_id", "quiz_id", "attempt_id", "student_id",
           "slot", "question_attempt_id", "step_seq", "item_key", "old_version", "new_version",
           "old_state", "new_state", "old_fraction", "new_fraction", "old_mark", "new_mark",
           "max_mark", "old_marks", "new_marks", "max_marks", "comment", "reason")
"""Every column but ``actor_id``, which only its foreign key's ``SET NULL`` may change."""


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.actor_id IS NOT NULL
                   OR (to_jsonb(NEW) - 'actor_id') IS DISTINCT FROM (to_jsonb(OLD) - 'actor_id') THEN
                    RAISE EXCEPTION '{MESSAGE}';
                END IF;
                RETURN NEW;
            END $$""")
        op.execute(f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON grade_changes "
                   f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()")
        return
    op.execute(f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OF {', '.join(GUARDED)} ON grade_changes "
               f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
    op.execute(f"CREATE TRIGGER {TRIGGER}_actor BEFORE UPDATE OF actor_id ON grade_changes "
               f"WHEN NEW.actor_id IS NOT NULL BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON grade_changes")
        op.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}_actor")
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
