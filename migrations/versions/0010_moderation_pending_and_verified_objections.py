"""moderation: pending listings; objections with a verified contact and a reviewer's decision

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 15:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_listings_status'), type_='check')
        batch_op.create_check_constraint(
            'status', "status IN ('draft', 'published', 'withdrawn', 'rejected', 'pending')")

    with op.batch_alter_table('claim_objections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_key', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('decision_reason', sa.Text(), nullable=True))
        batch_op.alter_column('status', existing_type=sa.String(length=10), type_=sa.String(length=12),
                              existing_nullable=False)
        batch_op.drop_constraint(batch_op.f('ck_claim_objections_status'), type_='check')
        batch_op.create_check_constraint(
            'status', "status IN ('unconfirmed', 'open', 'upheld', 'dismissed', 'resolved')")
        batch_op.create_index(batch_op.f('ix_claim_objections_contact_key'), ['contact_key'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_claim_objections_user_id_users'), 'users', ['user_id'], ['id'])
    # Objections filed before: their contact is what they gave; they were counted at once.
    op.execute("UPDATE claim_objections SET contact_key = lower(contact), confirmed_at = created_at")


def downgrade():
    op.execute("UPDATE claim_objections SET status = 'resolved' WHERE status IN ('upheld', 'dismissed')")
    op.execute("DELETE FROM claim_objections WHERE status = 'unconfirmed'")
    with op.batch_alter_table('claim_objections', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_claim_objections_user_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_claim_objections_contact_key'))
        batch_op.drop_constraint(batch_op.f('ck_claim_objections_status'), type_='check')
        batch_op.create_check_constraint('status', "status IN ('open', 'resolved')")
        batch_op.alter_column('status', existing_type=sa.String(length=12), type_=sa.String(length=10),
                              existing_nullable=False)
        batch_op.drop_column('decision_reason')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('user_id')
        batch_op.drop_column('contact_key')

    op.execute("UPDATE listings SET status = 'draft' WHERE status = 'pending'")
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_listings_status'), type_='check')
        batch_op.create_check_constraint('status', "status IN ('draft', 'published', 'withdrawn', 'rejected')")
