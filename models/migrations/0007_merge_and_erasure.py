"""Merge, erasure and duplicates: the codes of merged third parties, which keep resolving to
the record that was kept; documents that outlive their erased third party, with what the
books need; phone numbers compared as numbers (E.164), filled in for existing rows."""
import functools
from json import dumps, loads

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

from crm.db import sql
from crm.phones import e164


BATCH = 1000


async def fill_phone_keys(apps, schema_editor) -> None:
    client = schema_editor.client
    last_id = 0
    while True:
        rows = await client.execute_query_dict(sql(
            client, "SELECT id, phone, country FROM crm_thirdparty WHERE id > ? AND phone <> '' ORDER BY id LIMIT ?"),
            [last_id, BATCH])
        if not rows:
            return
        for row in rows:
            key = e164(row["phone"], row["country"])
            if key:
                await client.execute_query(sql(client, "UPDATE crm_thirdparty SET phone_key = ? WHERE id = ?"),
                                           [key, row["id"]])
        last_id = rows[-1]["id"]


async def index_alias_codes(apps, schema_editor) -> None:
    """A merged code is looked up in any case, as codes are (0003's crm_thirdparty_code_upper)."""
    await schema_editor.client.execute_script(
        "CREATE INDEX crm_thirdparty_alias_code_upper ON crm_thirdparty_alias (UPPER(code))")


class Migration(migrations.Migration):
    dependencies = [('crm', '0006_search_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ThirdPartyAlias',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('thirdparty', fields.ForeignKeyField('crm.ThirdParty', source_field='thirdparty_id',
                                                      db_constraint=True, to_field='id', related_name='aliases',
                                                      on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'crm_thirdparty_alias', 'app': 'crm', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Document',
            name='thirdparty',
            field=fields.ForeignKeyField('crm.ThirdParty', source_field='thirdparty_id', null=True,
                                         db_constraint=True, to_field='id', related_name='documents',
                                         on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Document',
            name='billed_to',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='ThirdParty',
            name='phone_key',
            field=fields.CharField(default='', db_default='', db_index=True, max_length=32),
        ),
        ops.RunPython(fill_phone_keys, ops.RunPython.noop),
        ops.RunPython(index_alias_codes, ops.RunPython.noop),
    ]
