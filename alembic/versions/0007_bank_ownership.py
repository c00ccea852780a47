"""The bank's ownership: banks, grants to courses, items in a bank, quizzes pinned to versions.

Every item so far lived in one global bank that every instructor could read and edit. They move
to the shared library (``library``: open to every course, edited by administrators), and each
quiz is pinned to the versions it used: its fixed items at their current versions, each draw to
the items its tags match now. From here on, a new version reaches a quiz only when its
instructors choose it.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LIBRARY = "library"


def upgrade() -> None:
    op.create_table('banks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('is_course_default', sa.Boolean(), nullable=False),
    sa.Column('open_to_all', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_banks_course_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_banks')),
    sa.UniqueConstraint('slug', name=op.f('uq_banks_slug'))
    )
    with op.batch_alter_table('banks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_banks_course_id'), ['course_id'], unique=False)

    op.create_table('bank_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('can_edit', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bank_id'], ['banks.id'], name=op.f('fk_bank_grants_bank_id_banks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_bank_grants_course_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_grants')),
    sa.UniqueConstraint('bank_id', 'course_id', name=op.f('uq_bank_grants_bank_id_course_id'))
    )
    with op.batch_alter_table('bank_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_grants_bank_id'), ['bank_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_grants_course_id'), ['course_id'], unique=False)

    op.create_table('quiz_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('section', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_quiz_items_item_id_items')),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_versions.id'], name=op.f('fk_quiz_items_item_version_id_item_versions')),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_quiz_items_quiz_id_quizzes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_items')),
    sa.UniqueConstraint('quiz_id', 'section', 'item_id', name=op.f('uq_quiz_items_quiz_id_section_item_id'))
    )
    with op.batch_alter_table('quiz_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_items_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_items_item_version_id'), ['item_version_id'], unique=False)

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_id', sa.Integer(), nullable=True))

    connection = op.get_bind()
    if connection.execute(sa.text("SELECT 1 FROM items LIMIT 1")).first() is not None:
        # Only a database with items gets the library here (an empty one, such as a restore's
        # target, must stay empty: Assay makes the library when it first needs it).
        banks = sa.table('banks', sa.column('id', sa.Integer()), sa.column('slug', sa.String()),
                         sa.column('title', sa.String()), sa.column('course_id', sa.Integer()),
                         sa.column('is_course_default', sa.Boolean()), sa.column('open_to_all', sa.Boolean()),
                         sa.column('created_at', sa.DateTime(timezone=True)))
        connection.execute(banks.insert().values(
            slug=LIBRARY, title="Shared library", course_id=None, is_course_default=False, open_to_all=True,
            created_at=datetime.now(UTC)))
        library = connection.execute(sa.select(banks.c.id).where(banks.c.slug == LIBRARY)).scalar_one()
        connection.execute(sa.text("UPDATE items SET bank_id = :bank"), {"bank": library})

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.alter_column('bank_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_items_bank_id'), ['bank_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_items_bank_id_banks'), 'banks', ['bank_id'], ['id'])

    _pin_quizzes(connection)


def _pin_quizzes(connection: sa.Connection) -> None:
    """Each quiz's sections pinned as they resolve now: fixed items and draw pools, at the
    current version of each item (the rules of ``assessments.bank.repository`` as they stood)."""
    current = {key: (item_id, version_id) for key, item_id, version_id in connection.execute(sa.text(
        "SELECT items.key, items.id, item_versions.id FROM items JOIN item_versions "
        "ON item_versions.item_id = items.id AND item_versions.number = items.current_number"))}
    rows: list[dict[str, Any]] = []
    for quiz_id, raw in connection.execute(sa.text("SELECT id, sections FROM quizzes ORDER BY id")):
        sections = json.loads(raw) if isinstance(raw, str) else raw
        for index, section in enumerate(sections):
            keys = list(dict.fromkeys(section.get("items") or []))
            if section.get("draw") is not None:
                keys = _draw_matches(connection, section["draw"])
            rows.extend({"quiz_id": quiz_id, "section": index, "item_id": current[key][0],
                         "item_version_id": current[key][1]} for key in keys if key in current)
    if rows:
        connection.execute(sa.text(
            "INSERT INTO quiz_items (quiz_id, section, item_id, item_version_id) "
            "VALUES (:quiz_id, :section, :item_id, :item_version_id)"), rows)


def _draw_matches(connection: sa.Connection, draw: dict[str, Any]) -> list[str]:
    """The keys of the current items a draw matched before this migration."""
    conditions, params = ["items.current_number IS NOT NULL"], {}
    for n, tag in enumerate(draw.get("tags") or []):
        facet, _, value = str(tag).partition(":")
        path = " > ".join(part.strip() for part in value.split(">"))
        conditions.append(
            f"items.id IN (SELECT item_id FROM item_tags WHERE facet = :f{n} "
            f"AND (value = :v{n} OR substr(value, 1, :n{n}) = :p{n}))")
        params |= {f"f{n}": facet.strip(), f"v{n}": path, f"p{n}": path + " > ", f"n{n}": len(path) + 3}
    if draw.get("q"):
        conditions.append("(lower(item_versions.title) LIKE :q OR lower(items.key) LIKE :q)")
        params["q"] = f"%{str(draw['q']).lower()}%"
    if draw.get("type"):
        conditions.append("item_versions.type = :type")
        params["type"] = draw["type"]
    query = ("SELECT items.key FROM items JOIN item_versions ON item_versions.item_id = items.id "
             "AND item_versions.number = items.current_number WHERE " + " AND ".join(conditions))
    return [key for (key,) in connection.execute(sa.text(query), params)]


def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_items_bank_id_banks'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_items_bank_id'))
        batch_op.drop_column('bank_id')

    with op.batch_alter_table('quiz_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_items_item_version_id'))
        batch_op.drop_index(batch_op.f('ix_quiz_items_item_id'))

    op.drop_table('quiz_items')
    with op.batch_alter_table('bank_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_grants_course_id'))
        batch_op.drop_index(batch_op.f('ix_bank_grants_bank_id'))

    op.drop_table('bank_grants')
    with op.batch_alter_table('banks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_banks_course_id'))

    op.drop_table('banks')
