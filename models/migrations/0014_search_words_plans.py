"""The search-words trigger plans each call for the tables as they are (PostgreSQL).

PL/pgSQL keeps a statement's plan for the session, and after a few calls a generic one: planned
while the tables were small (a fresh installation), it scans them whole, and keeps doing so as
they grow, until statistics change; where autovacuum is off, never. Third parties created one
at a time then cost a scan of every third party's words each. A custom plan per call costs a
fraction of a millisecond.
"""
from tortoise import migrations
from tortoise.migrations import operations as ops


async def plan_each_call(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(
            "ALTER FUNCTION crm_index_thirdparty_words(INT[]) SET plan_cache_mode = force_custom_plan")


async def plan_as_before(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script("ALTER FUNCTION crm_index_thirdparty_words(INT[]) RESET plan_cache_mode")


class Migration(migrations.Migration):
    dependencies = [('crm', '0013_agenda_and_files')]

    initial = False

    operations = [
        ops.RunPython(plan_each_call, plan_as_before),
    ]
