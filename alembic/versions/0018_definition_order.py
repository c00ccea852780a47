"""Item definitions keep their keys in the author's order on PostgreSQL: ``json``, not ``jsonb``.

``jsonb`` stores an object's keys sorted (shorter first), so a definition read back in another
process drew its ``params`` in another order (another variant for the same seed) and evaluated its
``compute`` entries out of order (an item whose later value reads an earlier one no longer loaded).
The column becomes ``json``, which keeps the text; each stored definition whose version kept its
author's YAML text (every version made from a file, the editor or the API's YAML) takes its order
back from that text, where the text reads as the same definition. SQLite stores JSON as text and
never reordered it.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import json

import sqlalchemy as sa
import yaml
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def _same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    op.execute('ALTER TABLE item_versions ALTER COLUMN definition TYPE json USING definition::json')
    rows = bind.execute(sa.text('SELECT id, definition::text, source_text FROM item_versions '
                                'WHERE source_text IS NOT NULL')).all()
    for row_id, stored_text, source_text in rows:
        stored = json.loads(stored_text)
        try:
            authored = yaml.safe_load(source_text)
            same = isinstance(authored, dict) and _same(authored, stored)
        except (yaml.YAMLError, TypeError, ValueError):  # not YAML, or not JSON's values (a date)
            continue
        if same:
            bind.execute(sa.text('UPDATE item_versions SET definition = CAST(:d AS json) WHERE id = :i'),
                         {'d': json.dumps(authored), 'i': row_id})


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE item_versions ALTER COLUMN definition TYPE jsonb USING definition::jsonb')
