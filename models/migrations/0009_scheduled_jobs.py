"""Scheduled work that runs once whichever process runs it, and holds on work only one
process may do at a time (crm.jobs)."""
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('crm', '0008_checked_values')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ScheduledJob',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('holder', fields.CharField(default='', max_length=128)),
                ('held_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'crm_job', 'app': 'crm', 'pk_attr': 'name'},
            bases=['Model'],
        ),
    ]
