"""LTI in the LMS's frame, and Dynamic Registration: a platform's frame origins, how it was
registered, and the one-time links an administrator opens a registration with.

Every platform registered before this revision may be framed by the origins of its issuer and its
authorisation endpoint (what an LMS such as Moodle serves its pages from); an administrator adds
others (a Canvas school's own domain) through ``PATCH /api/v1/lti/registrations/{id}``.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    port = parts.port
    return f"{parts.scheme}://{parts.hostname.lower()}" + (f":{port}" if port and port != default else "")


def upgrade() -> None:
    with op.batch_alter_table('lti_platforms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frame_origins', JSON, nullable=True))
        batch_op.add_column(sa.Column('registered_by', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('platform_configuration', JSON, nullable=True))
    bind = op.get_bind()
    platforms = sa.table('lti_platforms', sa.column('id', sa.Integer), sa.column('issuer', sa.String),
                         sa.column('auth_login_url', sa.String), sa.column('frame_origins', JSON),
                         sa.column('registered_by', sa.String))
    for row in bind.execute(sa.select(platforms.c.id, platforms.c.issuer, platforms.c.auth_login_url)).all():
        found = []
        for url in (row.issuer, row.auth_login_url):
            origin = _origin(url)
            if origin and origin not in found:
                found.append(origin)
        bind.execute(platforms.update().where(platforms.c.id == row.id)
                     .values(frame_origins=json.loads(json.dumps(found)), registered_by='hand'))
    with op.batch_alter_table('lti_platforms', schema=None) as batch_op:
        batch_op.alter_column('frame_origins', existing_type=JSON, nullable=False)
        batch_op.alter_column('registered_by', existing_type=sa.String(length=20), nullable=False)

    op.create_table('lti_registration_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('platform_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_lti_registration_links_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'],
                            name=op.f('fk_lti_registration_links_platform_id_lti_platforms'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_registration_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_lti_registration_links_token_hash')),
    )


def downgrade() -> None:
    op.drop_table('lti_registration_links')
    with op.batch_alter_table('lti_platforms', schema=None) as batch_op:
        batch_op.drop_column('platform_configuration')
        batch_op.drop_column('registered_by')
        batch_op.drop_column('frame_origins')
