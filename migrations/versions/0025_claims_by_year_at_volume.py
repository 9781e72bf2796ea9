"""claims by year at province volume: the dashboards' funnel per clause and status reads an
index alone, and the budget figures find the year's approved claims without the drafted ones

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-26 05:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_claims_year_clause_status', 'claims', ['year', 'clause', 'status', 'amount_fen'], unique=False)
    op.create_index('ix_claims_year_status', 'claims', ['year', 'status'], unique=False)


def downgrade():
    op.drop_index('ix_claims_year_status', table_name='claims')
    op.drop_index('ix_claims_year_clause_status', table_name='claims')
