"""the dashboards' turnover sums kept in the database: one row per (year, group), and the
ledger entry each year's sums reach (the worker keeps them; `flask dashboards rebuild`)

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-26 08:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'dashboard_sums',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('tag', sa.String(length=8), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('bucket', sa.String(length=100), nullable=False),
        sa.Column('fen', sa.BigInteger(), nullable=False),
        sa.Column('trades', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('year', 'tag', 'kind', 'bucket', name=op.f('pk_dashboard_sums')),
    )
    op.create_table(
        'dashboard_heads',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('year', name=op.f('pk_dashboard_heads')),
    )


def downgrade():
    op.drop_table('dashboard_heads')
    op.drop_table('dashboard_sums')
