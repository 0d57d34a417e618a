"""Commercial documents: documents and their lines, payments and contacts in roles; contacts' default
roles; events linked to a document; the company details documents print; sales reps in the
order they were given (a document's default rep is the first)."""
from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index



async def order_sales_reps(apps, schema_editor) -> None:
    """The through table is Tortoise's own, so the column is added here; reps given before keep
    the order of their IDs."""
    await schema_editor.client.execute_script(
        "ALTER TABLE crm_thirdparty_rep ADD COLUMN position INTEGER NOT NULL DEFAULT 0")


class Migration(migrations.Migration):
    dependencies = [('crm', '0004_product_catalogue')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CompanyProfile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(default='', max_length=255)),
                ('address', fields.TextField(default='', unique=False)),
                ('zip', fields.CharField(default='', max_length=32)),
                ('town', fields.CharField(default='', max_length=128)),
                ('country', fields.CharField(default='', max_length=2)),
                ('vat_id', fields.CharField(default='', max_length=32)),
                ('email', fields.CharField(default='', max_length=255)),
                ('phone', fields.CharField(default='', max_length=64)),
                ('logo_sha256', fields.CharField(null=True, max_length=64)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_by', fields.CharField(default='system', max_length=32)),
            ],
            options={'table': 'crm_company', 'app': 'crm', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Document',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_by', fields.CharField(default='system', max_length=32)),
                ('updated_by', fields.CharField(default='system', max_length=32)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('type', fields.CharField(max_length=16)),
                ('ref', fields.CharField(null=True, unique=True, max_length=64)),
                ('status', fields.CharField(default='draft', max_length=16)),
                ('thirdparty', fields.ForeignKeyField('crm.ThirdParty', source_field='thirdparty_id', db_constraint=True, to_field='id', related_name='documents', on_delete=OnDelete.CASCADE)),
                ('rep', fields.ForeignKeyField('crm.User', source_field='rep_id', null=True, db_constraint=True, to_field='id', related_name='documents', on_delete=OnDelete.SET_NULL)),
                ('origin', fields.ForeignKeyField('crm.Document', source_field='origin_id', null=True, db_constraint=True, to_field='id', related_name='derived', on_delete=OnDelete.SET_NULL)),
                ('currency', fields.CharField(max_length=3)),
                ('issued_on', fields.DateField()),
                ('valid_until', fields.DateField(null=True)),
                ('due_on', fields.DateField(null=True)),
                ('intervention_on', fields.DateField(null=True)),
                ('intervention_minutes', fields.IntField(null=True)),
                ('note_public', fields.TextField(default='', unique=False)),
                ('note_private', fields.TextField(default='', unique=False)),
                ('description_rich', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('description_html', fields.TextField(default='', unique=False)),
                ('total_excl_tax', fields.DecimalField(default=0, max_digits=24, decimal_places=6)),
                ('total_vat', fields.DecimalField(default=0, max_digits=24, decimal_places=6)),
                ('total_incl_tax', fields.DecimalField(default=0, max_digits=24, decimal_places=6)),
                ('validated_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('validated_by', fields.CharField(null=True, max_length=32)),
                ('pdf_sha256', fields.CharField(null=True, max_length=64)),
                ('pdf_name', fields.CharField(null=True, max_length=255)),
                ('pdf_made_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'crm_document', 'app': 'crm', 'indexes': [Index(fields=['thirdparty_id', 'type']), Index(fields=['origin_id']), Index(fields=['rep_id', 'validated_at'])], 'pk_attr': 'id'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='DocumentContact',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('document', fields.ForeignKeyField('crm.Document', source_field='document_id', db_constraint=True, to_field='id', related_name='contacts', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('crm.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='documents', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharField(max_length=16)),
            ],
            options={'table': 'crm_document_contact', 'app': 'crm', 'unique_together': (('document', 'role', 'contact'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DocumentLine',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('document', fields.ForeignKeyField('crm.Document', source_field='document_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('product', fields.ForeignKeyField('crm.Product', source_field='product_id', null=True, db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.SET_NULL)),
                ('label', fields.CharField(max_length=255)),
                ('description', fields.TextField(default='', unique=False)),
                ('quantity', fields.DecimalField(max_digits=24, decimal_places=6)),
                ('unit', fields.CharField(default='', max_length=32)),
                ('unit_price', fields.DecimalField(max_digits=24, decimal_places=6)),
                ('discount_percent', fields.DecimalField(default=0, max_digits=6, decimal_places=3)),
                ('vat_rate', fields.DecimalField(max_digits=6, decimal_places=3)),
                ('cost_price', fields.DecimalField(default=0, max_digits=24, decimal_places=6)),
                ('total_excl_tax', fields.DecimalField(max_digits=24, decimal_places=6)),
                ('total_vat', fields.DecimalField(max_digits=24, decimal_places=6)),
            ],
            options={'table': 'crm_document_line', 'app': 'crm', 'indexes': [Index(fields=['document_id', 'position'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('document', fields.ForeignKeyField('crm.Document', source_field='document_id', db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.CASCADE)),
                ('paid_on', fields.DateField()),
                ('amount', fields.DecimalField(max_digits=24, decimal_places=6)),
                ('method', fields.CharField(max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_by', fields.CharField(max_length=32)),
            ],
            options={'table': 'crm_payment', 'app': 'crm', 'indexes': [Index(fields=['document_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Contact',
            name='default_roles',
            field=fields.CharField(default='', db_default='', max_length=64),
        ),
        ops.AddField(
            model_name='Event',
            name='document',
            field=fields.ForeignKeyField('crm.Document', source_field='document_id', null=True, db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddIndex(
            model_name='Event',
            index=Index(fields=['document_id']),
        ),
        ops.RunPython(order_sales_reps, ops.RunPython.noop),
    ]
