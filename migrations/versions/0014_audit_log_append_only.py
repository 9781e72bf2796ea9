"""The audit log is append-only: triggers refuse UPDATE and DELETE on audit_events

Revision ID: 0014
Revises: 0016
"""
from alembic import op

from marketplace.core import append_only

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0016'
branch_labels = None
depends_on = None

MESSAGE = "the audit log is append-only"  # as marketplace.audit.models says it (frozen here)


def upgrade():
    append_only.install(op.get_bind(), "audit_events", MESSAGE)


def downgrade():
    append_only.remove(op.get_bind(), "audit_events")
