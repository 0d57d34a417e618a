from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('crm', '0003_integrity_and_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Product',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_by', fields.CharField(default='system', max_length=32)),
                ('updated_by', fields.CharField(default='system', max_length=32)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ref', fields.CharField(unique=True, max_length=64)),
                ('label', fields.CharField(max_length=255)),
                ('search_text', fields.CharField(default='', max_length=400)),
                ('description', fields.TextField(default='', unique=False)),
                ('unit_price', fields.DecimalField(max_digits=24, decimal_places=6)),
                ('vat_rate', fields.DecimalField(max_digits=6, decimal_places=3)),
                ('cost_price', fields.DecimalField(default=0, max_digits=24, decimal_places=6)),
                ('unit', fields.CharField(default='', max_length=32)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'crm_product', 'app': 'crm', 'pk_attr': 'id'},
            bases=['Timestamped'],
        ),
    ]
