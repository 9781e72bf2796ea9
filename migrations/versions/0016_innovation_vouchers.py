"""innovation vouchers: applications, vouchers and reservations, provider admission,
deliveries with acceptance and rating, redemption batches, the city's dated voucher settings

Organisations already marked as service agencies are admitted (an admission row with no
applicant), so that the mark and the admission agree.

Revision ID: 0016
Revises: 0020
Create Date: 2026-11-25 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('provider_admissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('applicant_id', sa.Integer(), nullable=True),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('qualifications', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'admitted', 'suspended', 'removed', 'rejected')", name=op.f('ck_provider_admissions_status')),
    sa.ForeignKeyConstraint(['applicant_id'], ['users.id'], name=op.f('fk_provider_admissions_applicant_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_provider_admissions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_provider_admissions_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_admissions'))
    )
    with op.batch_alter_table('provider_admissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_admissions_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_provider_admissions_status'), ['status'], unique=False)
        batch_op.create_index('uq_provider_admissions_live', ['organization_id'], unique=True, sqlite_where=sa.text("status IN ('pending', 'admitted', 'suspended')"), postgresql_where=sa.text("status IN ('pending', 'admitted', 'suspended')"))

    op.create_table('redemption_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_org_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('status', sa.String(length=6), nullable=False),
    sa.Column('paid_at', sa.DateTime(), nullable=True),
    sa.Column('paid_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('open', 'paid')", name=op.f('ck_redemption_batches_status')),
    sa.ForeignKeyConstraint(['paid_by_id'], ['users.id'], name=op.f('fk_redemption_batches_paid_by_id_users')),
    sa.ForeignKeyConstraint(['provider_org_id'], ['organizations.id'], name=op.f('fk_redemption_batches_provider_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemption_batches')),
    sa.UniqueConstraint('provider_org_id', 'month', name='uq_redemption_batches_provider_month')
    )
    with op.batch_alter_table('redemption_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemption_batches_provider_org_id'), ['provider_org_id'], unique=False)

    op.create_table('voucher_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('applicant_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('planned_fen', sa.BigInteger(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('approved_fen', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'material_requested', 'approved', 'rejected')", name=op.f('ck_voucher_applications_status')),
    sa.CheckConstraint('planned_fen > 0', name=op.f('ck_voucher_applications_planned')),
    sa.ForeignKeyConstraint(['applicant_id'], ['users.id'], name=op.f('fk_voucher_applications_applicant_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_voucher_applications_decided_by_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_voucher_applications_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_applications'))
    )
    with op.batch_alter_table('voucher_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voucher_applications_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_applications_status'), ['status'], unique=False)

    op.create_table('voucher_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=20), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=True),
    sa.Column('set_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("key IN ('yearly_cap_fen', 'use_months', 'redeem_months')", name=op.f('ck_voucher_settings_key')),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_voucher_settings_set_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_settings')),
    sa.UniqueConstraint('key', 'effective_from', name='uq_voucher_settings_key_from')
    )
    op.create_table('vouchers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=24), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('used_fen', sa.BigInteger(), nullable=False),
    sa.Column('reserved_fen', sa.BigInteger(), nullable=False),
    sa.Column('lapsed_fen', sa.BigInteger(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('use_by', sa.Date(), nullable=False),
    sa.Column('redeem_by', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('lapsed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("mode IN ('exchange', 'general')", name=op.f('ck_vouchers_mode')),
    sa.CheckConstraint("status IN ('active', 'lapsed')", name=op.f('ck_vouchers_status')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_vouchers_amount')),
    sa.CheckConstraint('used_fen + reserved_fen + lapsed_fen <= amount_fen', name=op.f('ck_vouchers_balance')),
    sa.CheckConstraint('used_fen >= 0 AND reserved_fen >= 0 AND lapsed_fen >= 0', name=op.f('ck_vouchers_parts')),
    sa.ForeignKeyConstraint(['application_id'], ['voucher_applications.id'], name=op.f('fk_vouchers_application_id_voucher_applications')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_vouchers_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vouchers')),
    sa.UniqueConstraint('application_id', name=op.f('uq_vouchers_application_id')),
    sa.UniqueConstraint('number', name=op.f('uq_vouchers_number'))
    )
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vouchers_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vouchers_status'), ['status'], unique=False)

    op.create_table('order_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('delivered_by_id', sa.Integer(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('report_name', sa.String(length=200), nullable=True),
    sa.Column('report_stored', sa.String(length=64), nullable=True),
    sa.Column('report_type', sa.String(length=40), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=14), nullable=False),
    sa.Column('accepted_at', sa.DateTime(), nullable=True),
    sa.Column('dispute_reason', sa.Text(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('rated_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('delivered', 'accepted', 'auto_accepted', 'disputed')", name=op.f('ck_order_deliveries_status')),
    sa.CheckConstraint('rating IS NULL OR rating BETWEEN 1 AND 5', name=op.f('ck_order_deliveries_rating')),
    sa.ForeignKeyConstraint(['delivered_by_id'], ['users.id'], name=op.f('fk_order_deliveries_delivered_by_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_deliveries_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_deliveries')),
    sa.UniqueConstraint('order_id', name=op.f('uq_order_deliveries_order_id'))
    )
    with op.batch_alter_table('order_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_deliveries_status'), ['status'], unique=False)

    op.create_table('voucher_reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('voucher_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('settled_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('reserved', 'redeemed', 'released')", name=op.f('ck_voucher_reservations_status')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_voucher_reservations_amount')),
    sa.ForeignKeyConstraint(['batch_id'], ['redemption_batches.id'], name=op.f('fk_voucher_reservations_batch_id_redemption_batches')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_voucher_reservations_order_id_orders')),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], name=op.f('fk_voucher_reservations_voucher_id_vouchers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_reservations')),
    sa.UniqueConstraint('order_id', name=op.f('uq_voucher_reservations_order_id'))
    )
    with op.batch_alter_table('voucher_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voucher_reservations_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_reservations_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_reservations_voucher_id'), ['voucher_id'], unique=False)

    op.execute("INSERT INTO provider_admissions (organization_id, scope, qualifications, status, note, created_at) "
               "SELECT id, '', '', 'admitted', 'marked as a service agency before admission existed', "
               "CURRENT_TIMESTAMP FROM organizations WHERE service_agency")


def downgrade():
    with op.batch_alter_table('voucher_reservations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voucher_reservations_voucher_id'))
        batch_op.drop_index(batch_op.f('ix_voucher_reservations_status'))
        batch_op.drop_index(batch_op.f('ix_voucher_reservations_batch_id'))

    op.drop_table('voucher_reservations')
    with op.batch_alter_table('order_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_deliveries_status'))

    op.drop_table('order_deliveries')
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vouchers_status'))
        batch_op.drop_index(batch_op.f('ix_vouchers_organization_id'))

    op.drop_table('vouchers')
    op.drop_table('voucher_settings')
    with op.batch_alter_table('voucher_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voucher_applications_status'))
        batch_op.drop_index(batch_op.f('ix_voucher_applications_organization_id'))

    op.drop_table('voucher_applications')
    with op.batch_alter_table('redemption_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemption_batches_provider_org_id'))

    op.drop_table('redemption_batches')
    with op.batch_alter_table('provider_admissions', schema=None) as batch_op:
        batch_op.drop_index('uq_provider_admissions_live', sqlite_where=sa.text("status IN ('pending', 'admitted', 'suspended')"), postgresql_where=sa.text("status IN ('pending', 'admitted', 'suspended')"))
        batch_op.drop_index(batch_op.f('ix_provider_admissions_status'))
        batch_op.drop_index(batch_op.f('ix_provider_admissions_organization_id'))

    op.drop_table('provider_admissions')
