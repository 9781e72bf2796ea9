"""claims by group: ledger index columns, wider outbox keys, claim payer totals

Drafting recomputes only the claim groups a ledger entry changes and reads only the rows
they need, through copies of payload fields on each entry (party, counterparty, broker,
project, registration number, a voucher's order) with indexes by party, kind and date.
Existing entries are filled from their payload (the hash chain covers the payload only, so it
is unchanged). Claims keep their payer totals and part count beside the trace, so lists never
read the trace.

Revision ID: 0017
Revises: 0019
Create Date: 2026-11-25 18:20:00

"""
import json

from alembic import op
import sqlalchemy as sa

from marketplace.claims.traces import payer_split
from marketplace.ledger.models import index_columns, install_guards, remove_guards


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0019'
branch_labels = None
depends_on = None

_COLUMNS = (('party', 40), ('counterparty', 40), ('broker', 40), ('project', 60), ('registration_no', 60),
            ('order_ref', 40))
_INDEXES = (('ix_ledger_entries_party_kind_occurred_on', ['party', 'kind', 'occurred_on']),
            ('ix_ledger_entries_counterparty_kind_occurred_on', ['counterparty', 'kind', 'occurred_on']),
            ('ix_ledger_entries_broker_occurred_on', ['broker', 'occurred_on']),
            ('ix_ledger_entries_project_occurred_on', ['project', 'occurred_on']),
            ('ix_ledger_entries_registration_no', ['registration_no']),
            ('ix_ledger_entries_order_ref', ['order_ref']),
            ('ix_ledger_entries_corrects_seq', ['corrects_seq']))


def upgrade():
    bind = op.get_bind()
    for name, length in _COLUMNS:
        op.add_column('ledger_entries', sa.Column(name, sa.String(length=length), nullable=True))
    entries = sa.table('ledger_entries', sa.column('seq'), sa.column('kind'), sa.column('payload'),
                       *(sa.column(name) for name, _ in _COLUMNS))
    remove_guards(bind)
    rows = bind.execute(sa.select(entries.c.seq, entries.c.kind, entries.c.payload).where(
        entries.c.kind.in_(('contract_registered', 'voucher_redemption', 'booking_completed', 'lease_fee')))).all()
    for seq, kind, payload in rows:
        bind.execute(entries.update().where(entries.c.seq == seq).values(**index_columns(kind, json.loads(payload))))
    install_guards(bind)
    for name, cols in _INDEXES:
        op.create_index(name, 'ledger_entries', cols, unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('key', existing_type=sa.String(length=60), type_=sa.String(length=100),
                              existing_nullable=False)

    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payers', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('part_count', sa.Integer(), nullable=False, server_default='0'))
    claims = sa.table('claims', sa.column('id'), sa.column('trace', sa.JSON()), sa.column('payers', sa.JSON()),
                      sa.column('part_count'))
    for cid, trace in bind.execute(sa.select(claims.c.id, claims.c.trace)).all():
        bind.execute(claims.update().where(claims.c.id == cid).values(payers=payer_split(trace),
                                                                      part_count=len(trace or [])))


def downgrade():
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_column('part_count')
        batch_op.drop_column('payers')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('key', existing_type=sa.String(length=100), type_=sa.String(length=60),
                              existing_nullable=False)
    for name, _ in _INDEXES:
        op.drop_index(name, table_name='ledger_entries')
    bind = op.get_bind()
    remove_guards(bind)
    for name, _ in reversed(_COLUMNS):
        with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
            batch_op.drop_column(name)
    install_guards(bind)
