from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('crm', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ThirdParty',
            name='email_key',
            field=fields.CharField(default='', db_default='', db_index=True, max_length=255),
        ),
        # third parties stored before this migration get their key from their email
        ops.RunSQL(
            "UPDATE crm_thirdparty SET email_key = LOWER(email)",
            reverse_sql="UPDATE crm_thirdparty SET email_key = ''",
        ),
    ]
