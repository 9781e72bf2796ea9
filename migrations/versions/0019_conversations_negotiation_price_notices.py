"""conversations: threads, quote versions, demand responders, agreed-price notices, notification
preferences and reminders

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-25 17:59:20.615121

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('reminders_sent',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'subject_id', name=op.f('pk_reminders_sent'))
    )
    op.create_table('threads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_threads')),
    sa.UniqueConstraint('subject_kind', 'subject_id', name='uq_threads_subject')
    )
    op.create_table('notification_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'kind', 'channel', name=op.f('pk_notification_preferences'))
    )
    op.create_table('thread_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_thread_messages_author_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_thread_messages_organization_id_organizations')),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_thread_messages_thread_id_threads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_messages'))
    )
    with op.batch_alter_table('thread_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_messages_thread_id'), ['thread_id'], unique=False)

    op.create_table('thread_reads',
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('last_message_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_thread_reads_thread_id_threads')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_thread_reads_user_id_users')),
    sa.PrimaryKeyConstraint('thread_id', 'user_id', name=op.f('pk_thread_reads'))
    )
    op.create_table('attachment_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_attachment_grants_granted_by_id_users')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_attachment_grants_listing_id_listings')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_attachment_grants_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment_grants')),
    sa.UniqueConstraint('listing_id', 'organization_id', name='uq_attachment_grants_listing_org')
    )
    with op.batch_alter_table('attachment_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_grants_listing_id'), ['listing_id'], unique=False)

    op.create_table('thread_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['thread_messages.id'], name=op.f('fk_thread_attachments_message_id_thread_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_attachments')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_thread_attachments_stored_name'))
    )
    with op.batch_alter_table('thread_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_attachments_message_id'), ['message_id'], unique=False)

    op.create_table('quote_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enquiry_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=6), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('delivery_on', sa.Date(), nullable=True),
    sa.Column('instalments', sa.Integer(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('notice_days', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("side IN ('seller', 'buyer')", name=op.f('ck_quote_versions_side')),
    sa.CheckConstraint("status IN ('open', 'accepted', 'declined', 'countered', 'withdrawn', 'expired')", name=op.f('ck_quote_versions_status')),
    sa.CheckConstraint('instalments BETWEEN 1 AND 12', name=op.f('ck_quote_versions_instalments')),
    sa.CheckConstraint('price_fen > 0', name=op.f('ck_quote_versions_price')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_quote_versions_author_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_quote_versions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['enquiry_id'], ['enquiries.id'], name=op.f('fk_quote_versions_enquiry_id_enquiries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_versions')),
    sa.UniqueConstraint('enquiry_id', 'version', name='uq_quote_versions_enquiry_version')
    )
    with op.batch_alter_table('quote_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_versions_enquiry_id'), ['enquiry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quote_versions_status'), ['status'], unique=False)

    op.create_table('price_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enquiry_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('seller_org_id', sa.Integer(), nullable=False),
    sa.Column('buyer_org_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('notice_from', sa.Date(), nullable=False),
    sa.Column('notice_until', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('on_notice', 'cleared', 'withdrawn')", name=op.f('ck_price_notices_status')),
    sa.ForeignKeyConstraint(['buyer_org_id'], ['organizations.id'], name=op.f('fk_price_notices_buyer_org_id_organizations')),
    sa.ForeignKeyConstraint(['enquiry_id'], ['enquiries.id'], name=op.f('fk_price_notices_enquiry_id_enquiries')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_price_notices_order_id_orders')),
    sa.ForeignKeyConstraint(['seller_org_id'], ['organizations.id'], name=op.f('fk_price_notices_seller_org_id_organizations')),
    sa.ForeignKeyConstraint(['version_id'], ['quote_versions.id'], name=op.f('fk_price_notices_version_id_quote_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_notices')),
    sa.UniqueConstraint('enquiry_id', name=op.f('uq_price_notices_enquiry_id')),
    sa.UniqueConstraint('order_id', name=op.f('uq_price_notices_order_id'))
    )
    with op.batch_alter_table('price_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_notices_seller_org_id'), ['seller_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_price_notices_status'), ['status'], unique=False)

    op.create_table('price_objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name=op.f('ck_price_objections_status')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_price_objections_decided_by_id_users')),
    sa.ForeignKeyConstraint(['notice_id'], ['price_notices.id'], name=op.f('fk_price_objections_notice_id_price_notices')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_price_objections_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_objections'))
    )
    with op.batch_alter_table('price_objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_objections_notice_id'), ['notice_id'], unique=False)

    with op.batch_alter_table('enquiries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('responder_org_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_enquiries_responder_org_id'), ['responder_org_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_enquiries_responder_org_id_organizations'), 'organizations', ['responder_org_id'], ['id'])

    with op.batch_alter_table('listing_attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confidential', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('params', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('read_at', sa.DateTime(), nullable=True))




def downgrade():
    
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('read_at')
        batch_op.drop_column('params')
        batch_op.drop_column('kind')

    with op.batch_alter_table('listing_attachments', schema=None) as batch_op:
        batch_op.drop_column('confidential')

    with op.batch_alter_table('enquiries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_enquiries_responder_org_id_organizations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_enquiries_responder_org_id'))
        batch_op.drop_column('responder_org_id')

    with op.batch_alter_table('price_objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_objections_notice_id'))

    op.drop_table('price_objections')
    with op.batch_alter_table('price_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_notices_status'))
        batch_op.drop_index(batch_op.f('ix_price_notices_seller_org_id'))

    op.drop_table('price_notices')
    with op.batch_alter_table('quote_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quote_versions_status'))
        batch_op.drop_index(batch_op.f('ix_quote_versions_enquiry_id'))

    op.drop_table('quote_versions')
    with op.batch_alter_table('thread_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_attachments_message_id'))

    op.drop_table('thread_attachments')
    with op.batch_alter_table('attachment_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_grants_listing_id'))

    op.drop_table('attachment_grants')
    op.drop_table('thread_reads')
    with op.batch_alter_table('thread_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_messages_thread_id'))

    op.drop_table('thread_messages')
    op.drop_table('notification_preferences')
    op.drop_table('threads')
    op.drop_table('reminders_sent')

