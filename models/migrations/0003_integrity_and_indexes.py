"""Clock-set timestamps, pending actions, names folded in every script, the indexes that reads
and merges follow, and today's default masks kept where third parties were already numbered."""
from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

from datetime import datetime, timezone

from crm.db import sql, timestamp
from crm.normalize import fold, name_key, search_text

BATCH = 1000
# Indexes on both databases: foreign keys the card, the timeline, exports and merges follow,
# and the lower-cased email the duplicate check reads (0002 declared it but never created it).
INDEXES = {
    "crm_thirdparty_email_key": "crm_thirdparty (email_key)",
    "crm_thirdparty_code_upper": "crm_thirdparty (UPPER(code))",
    "crm_contact_thirdparty": "crm_contact (thirdparty_id)",
    "crm_event_thirdparty_time": "crm_event (thirdparty_id, occurred_at)",
    "crm_event_contact": "crm_event (contact_id)",
    "crm_custom_value_thirdparty": "crm_custom_value (thirdparty_id)",
    "crm_custom_value_contact": "crm_custom_value (contact_id)",
    "crm_thirdparty_tag_tag": "crm_thirdparty_tag (tag_id)",
    "crm_thirdparty_rep_user": "crm_thirdparty_rep (user_id)",
}
# Folded names are compared byte by byte (SQLite always does), so that a prefix is a range
# their index serves whatever the database's collation.
BYTEWISE_NAMES = {
    "postgres": ['ALTER TABLE crm_thirdparty ALTER COLUMN name_fold TYPE VARCHAR(255) COLLATE "C"',
                 'ALTER TABLE crm_thirdparty ALTER COLUMN name_key TYPE VARCHAR(255) COLLATE "C"'],
    "sqlite": [],
}
NAME_FOLD_INDEX = "CREATE INDEX crm_thirdparty_name_fold ON crm_thirdparty (name_fold)"
# The defaults before this migration: their counters never reset.
PREVIOUS_DEFAULT_MASKS = {
    "thirdparty": "CU{yy}{mm}-{00000}",
    "proposal": "PR{yy}{mm}-{00000}",
    "order": "SO{yy}{mm}-{00000}",
    "intervention": "FI{yy}{mm}-{00000}",
    "invoice": "IN{yy}{mm}-{00000}",
}


async def create_indexes(apps, schema_editor) -> None:
    client = schema_editor.client
    for name, target in INDEXES.items():
        await client.execute_script(f"CREATE INDEX {name} ON {target}")
    for statement in BYTEWISE_NAMES[client.capabilities.dialect]:
        await client.execute_script(statement)
    await client.execute_script(NAME_FOLD_INDEX)


async def fold_names_in_every_script(apps, schema_editor) -> None:
    """Names, search text and duplicate keys were folded to [0-9a-z] only: fold them again."""
    client = schema_editor.client
    last_id = 0
    while True:
        rows = await client.execute_query_dict(sql(client,
            "SELECT id, code, name, alias, email, phone, town FROM crm_thirdparty WHERE id > ? ORDER BY id LIMIT ?"),
            [last_id, BATCH])
        if not rows:
            return
        ids = [row["id"] for row in rows]
        contacts: dict[int, list] = {}
        placeholders = ", ".join("?" for _ in ids)
        for contact in await client.execute_query_dict(sql(client,
                f"SELECT thirdparty_id, first_name, last_name, email, phone FROM crm_contact "
                f"WHERE thirdparty_id IN ({placeholders}) ORDER BY id"), ids):
            contacts.setdefault(contact["thirdparty_id"], []).extend(
                [contact["first_name"], contact["last_name"], contact["email"], contact["phone"]])
        updates = [
            [fold(row["name"]), name_key(row["name"]),
             search_text(row["code"], row["name"], row["alias"], row["email"], row["phone"], row["town"],
                         *contacts.get(row["id"], [])),
             row["id"]]
            for row in rows
        ]
        await client.execute_many(sql(client,
            "UPDATE crm_thirdparty SET name_fold = ?, name_key = ?, search_text = ? WHERE id = ?"), updates)
        last_id = ids[-1]


async def keep_previous_default_masks(apps, schema_editor) -> None:
    """An installation that already numbered third parties keeps the masks it numbered them with."""
    client = schema_editor.client
    if not await client.execute_query_dict("SELECT 1 FROM crm_thirdparty LIMIT 1"):
        return
    now = timestamp(client, datetime.now(timezone.utc))
    for object_type, mask in PREVIOUS_DEFAULT_MASKS.items():
        await client.execute_query(sql(client,
            "INSERT INTO crm_numbering_mask (object_type, mask, updated_at, updated_by) VALUES (?, ?, ?, 'system') "
            "ON CONFLICT (object_type) DO NOTHING"), [object_type, mask, now])

class Migration(migrations.Migration):
    dependencies = [('crm', '0002_thirdparty_email_key')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PendingAction',
            fields=[
                ('token', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('kind', fields.CharField(max_length=32)),
                ('actor_id', fields.CharField(max_length=32)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('result_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'crm_pending_action', 'app': 'crm', 'pk_attr': 'token'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Contact',
            name='created_at',
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
        ops.AlterField(
            model_name='Contact',
            name='updated_at',
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
        ops.AlterField(
            model_name='CustomField',
            name='created_at',
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
        ops.AlterField(
            model_name='NumberingMask',
            name='updated_at',
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
        ops.AlterField(
            model_name='ThirdParty',
            name='created_at',
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
        ops.AlterField(
            model_name='ThirdParty',
            name='updated_at',
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ThirdParty',
            name='name_fold',
            field=fields.CharField(default='', db_default='', max_length=255),
        ),
        ops.AlterField(
            model_name='User',
            name='created_at',
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(fold_names_in_every_script, ops.RunPython.noop),
        ops.RunPython(create_indexes, ops.RunPython.noop),
        ops.RunPython(keep_previous_default_masks, ops.RunPython.noop),
    ]
