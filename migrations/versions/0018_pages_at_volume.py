"""pages at volume: the indexes of the paged lists (listings by status and date, kind, price;
bookings by customer and instrument; claims by status and submission, by organisation and
year; notifications by user and date)

Revision ID: 0018
Revises: 0021
Create Date: 2026-11-25 18:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0021'
branch_labels = None
depends_on = None

INDEXES = (
    ('listings', 'ix_listings_status_published', ['status', 'published_at', 'id']),
    ('listings', 'ix_listings_status_kind_published', ['status', 'kind', 'published_at', 'id']),
    ('listings', 'ix_listings_status_price', ['status', 'price_fen', 'id']),
    ('bookings', 'ix_bookings_customer_start', ['customer_org_id', 'start_at', 'id']),
    ('bookings', 'ix_bookings_instrument_start', ['instrument_id', 'start_at', 'id']),
    ('claims', 'ix_claims_status_submitted', ['status', 'submitted_at', 'id']),
    ('claims', 'ix_claims_org_year', ['organization_id', 'year', 'id']),
    ('notifications', 'ix_notifications_user_created', ['user_id', 'created_at', 'id']),
)


def upgrade():
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
