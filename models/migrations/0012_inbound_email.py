"""Inbound email (issue 9): where the IMAP listener got to in each mailbox, and one row per
incoming Message-ID saying what became of it, so that nothing is logged twice."""
from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('crm', '0011_search_words')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InboundEmail',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message_id', fields.CharField(unique=True, max_length=255)),
                ('mailbox', fields.CharField(max_length=255)),
                ('uidvalidity', fields.BigIntField()),
                ('uid', fields.BigIntField()),
                ('status', fields.CharField(max_length=16)),
                ('reason', fields.TextField(default='', unique=False)),
                ('attempts', fields.IntField(default=1)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('thirdparty', fields.ForeignKeyField('crm.ThirdParty', source_field='thirdparty_id', null=True, db_constraint=True, to_field='id', related_name='inbound_emails', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('crm.Contact', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='inbound_emails', on_delete=OnDelete.SET_NULL)),
                ('document', fields.ForeignKeyField('crm.Document', source_field='document_id', null=True, db_constraint=True, to_field='id', related_name='inbound_emails', on_delete=OnDelete.SET_NULL)),
                ('sender', fields.CharField(default='', max_length=255)),
                ('sender_name', fields.CharField(default='', max_length=255)),
                ('subject', fields.TextField(default='', unique=False)),
                ('excerpt', fields.TextField(default='', unique=False)),
                ('written_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attachments', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('assigned_by', fields.CharField(default='', max_length=32)),
            ],
            options={'table': 'crm_inbound_email', 'app': 'crm', 'indexes': [Index(fields=['thirdparty_id']), Index(fields=['status', 'received_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Mailbox',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('uidvalidity', fields.BigIntField(default=0)),
                ('last_uid', fields.BigIntField(default=0)),
                ('updated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'crm_mailbox', 'app': 'crm', 'pk_attr': 'name'},
            bases=['Model'],
        ),
    ]
