"""The agenda and files (issue 10): a call, meeting or task planned for a time (when, how long,
done, reminded), a note's last edit, and the files attached to third parties."""
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('crm', '0012_inbound_email')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ThirdPartyFile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('thirdparty', fields.ForeignKeyField('crm.ThirdParty', source_field='thirdparty_id', db_constraint=True, to_field='id', related_name='files', on_delete=OnDelete.CASCADE)),
                ('sha256', fields.CharField(max_length=64)),
                ('name', fields.CharField(max_length=255)),
                ('size', fields.BigIntField()),
                ('content_type', fields.CharField(default='application/octet-stream', max_length=128)),
                ('added_by', fields.CharField(max_length=32)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('slack_file_id', fields.CharField(default='', max_length=32)),
            ],
            options={'table': 'crm_file', 'app': 'crm', 'indexes': [Index(fields=['thirdparty_id', 'added_at']), Index(fields=['sha256'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Event',
            name='done_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Event',
            name='duration_minutes',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Event',
            name='edited_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Event',
            name='reminded_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Event',
            name='starts_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Event',
            index=Index(fields=['starts_at']),
        ),
    ]
