"""money moves once: one live payment per order, one refund per payment, one order per quote

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 15:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

LIVE = sa.text("status IN ('processing', 'succeeded')")


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('uq_payments_order_live', ['order_id'], unique=True,
                              sqlite_where=LIVE, postgresql_where=LIVE)
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_payment_id'))
        batch_op.create_index(batch_op.f('ix_refunds_payment_id'), ['payment_id'], unique=True)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('uq_orders_enquiry_id', ['enquiry_id'], unique=True)


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('uq_orders_enquiry_id')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_payment_id'))
        batch_op.create_index(batch_op.f('ix_refunds_payment_id'), ['payment_id'], unique=False)
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('uq_payments_order_live')
