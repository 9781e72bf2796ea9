"""claims at volume: a fingerprint of each drafted claim's trace, so a recompute rewrites only
the traces that changed

Revision ID: 0022
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("trace_digest", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("trace_digest")
