"""Bank transfers (对公转账) and instalments: payments carry their method, instalment and the
amount received; transfers that arrived (statement rows or confirmed receipts) and imported
statements; one live payment per instalment of an order.

Revision ID: 0024
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

LIVE = sa.text("status IN ('processing', 'succeeded')")


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bank_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_bank_statements_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statements'))
    )
    op.create_table('bank_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('line_no', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('payer_name', sa.String(length=200), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('remark', sa.String(length=300), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("source IN ('statement', 'manual')", name=op.f('ck_bank_transfers_source')),
    sa.CheckConstraint("status IN ('matched', 'partial', 'excess', 'unmatched', 'returned', 'duplicate')", name=op.f('ck_bank_transfers_status')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_bank_transfers_amount')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_bank_transfers_payment_id_payments')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_bank_transfers_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_bank_transfers_resolved_by_id_users')),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statements.id'], name=op.f('fk_bank_transfers_statement_id_bank_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_transfers')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_bank_transfers_fingerprint'))
    )
    with op.batch_alter_table('bank_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_transfers_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_transfers_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_transfers_status'), ['status'], unique=False)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('method', sa.String(length=8), server_default='card', nullable=False))
        batch_op.add_column(sa.Column('instalment', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('instalments', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('received_fen', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('confirmed_by_id', sa.Integer(), nullable=True))
        batch_op.drop_index('uq_payments_order_live')
        batch_op.create_index('uq_payments_order_live', ['order_id', 'instalment'], unique=True,
                              sqlite_where=LIVE, postgresql_where=LIVE)
        batch_op.create_foreign_key(batch_op.f('fk_payments_confirmed_by_id_users'), 'users', ['confirmed_by_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_payments_received'), 'received_fen >= 0')
        batch_op.create_check_constraint(op.f('ck_payments_instalment'), 'instalment BETWEEN 1 AND instalments')
        batch_op.create_check_constraint(op.f('ck_payments_method'), "method IN ('card', 'bank')")



def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payments_method'), type_='check')
        batch_op.drop_constraint(op.f('ck_payments_instalment'), type_='check')
        batch_op.drop_constraint(op.f('ck_payments_received'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_payments_confirmed_by_id_users'), type_='foreignkey')
        batch_op.drop_index('uq_payments_order_live')
        batch_op.create_index('uq_payments_order_live', ['order_id'], unique=True, sqlite_where=LIVE,
                              postgresql_where=LIVE)
        batch_op.drop_column('confirmed_by_id')
        batch_op.drop_column('received_fen')
        batch_op.drop_column('instalments')
        batch_op.drop_column('instalment')
        batch_op.drop_column('method')

    with op.batch_alter_table('bank_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_transfers_status'))
        batch_op.drop_index(batch_op.f('ix_bank_transfers_statement_id'))
        batch_op.drop_index(batch_op.f('ix_bank_transfers_payment_id'))

    op.drop_table('bank_transfers')
    op.drop_table('bank_statements')
