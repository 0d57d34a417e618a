"""Email: templates, campaigns and their recipients, the opt-out list, and one-off emails sent
from Slack (whose Message-IDs match the replies)."""
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('crm', '0009_scheduled_jobs')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_by', fields.CharField(default='system', max_length=32)),
                ('updated_by', fields.CharField(default='system', max_length=32)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=255)),
                ('template_name', fields.CharField(max_length=64)),
                ('target', fields.TextField(default='', unique=False)),
                ('status', fields.CharField(default='draft', db_index=True, max_length=16)),
                ('send_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('progress_channel', fields.CharField(default='', max_length=32)),
                ('progress_ts', fields.CharField(default='', max_length=32)),
                ('progress_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'crm_campaign', 'app': 'crm', 'indexes': [Index(fields=['status', 'send_at'])], 'pk_attr': 'id'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='CampaignRecipient',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('crm.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='recipients', on_delete=OnDelete.CASCADE)),
                ('address', fields.CharField(max_length=255)),
                ('thirdparty', fields.ForeignKeyField('crm.ThirdParty', source_field='thirdparty_id', null=True, db_constraint=True, to_field='id', related_name='campaign_recipients', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('crm.Contact', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='campaign_recipients', on_delete=OnDelete.SET_NULL)),
                ('language', fields.CharField(default='', max_length=16)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('reason', fields.TextField(default='', unique=False)),
                ('message_id', fields.CharField(default='', db_index=True, max_length=255)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claimed_by', fields.CharField(default='', max_length=128)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'crm_campaign_recipient', 'app': 'crm', 'unique_together': (('campaign', 'address'),), 'indexes': [Index(fields=['campaign_id', 'status']), Index(fields=['thirdparty_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EmailTemplate',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_by', fields.CharField(default='system', max_length=32)),
                ('updated_by', fields.CharField(default='system', max_length=32)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('language', fields.CharField(default='', max_length=16)),
                ('type', fields.CharField(max_length=16)),
                ('subject', fields.TextField(unique=False)),
                ('html', fields.TextField(unique=False)),
                ('text', fields.TextField(unique=False)),
            ],
            options={'table': 'crm_email_template', 'app': 'crm', 'unique_together': (('name', 'language'),), 'pk_attr': 'id'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='OptOut',
            fields=[
                ('address', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('reason', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'crm_opt_out', 'app': 'crm', 'pk_attr': 'address'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SentEmail',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message_id', fields.CharField(unique=True, max_length=255)),
                ('thirdparty', fields.ForeignKeyField('crm.ThirdParty', source_field='thirdparty_id', db_constraint=True, to_field='id', related_name='sent_emails', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('crm.Contact', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='sent_emails', on_delete=OnDelete.SET_NULL)),
                ('document', fields.ForeignKeyField('crm.Document', source_field='document_id', null=True, db_constraint=True, to_field='id', related_name='sent_emails', on_delete=OnDelete.SET_NULL)),
                ('address', fields.CharField(max_length=255)),
                ('subject', fields.TextField(unique=False)),
                ('sent_by', fields.CharField(max_length=32)),
                ('sent_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'crm_sent_email', 'app': 'crm', 'indexes': [Index(fields=['thirdparty_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
