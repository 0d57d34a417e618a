"""Values checked by the libraries made for them (crm.validators): stored emails, phones,
countries and languages rewritten in their checked form where they parse (phones in E.164, read
in the record's country), kept as typed where they do not (`crm doctor` lists those); and the
Slack user's locale, in whose language the country and language menus name their choices."""
from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from crm import phones, search, stored_values
from crm.db import sql


async def check_stored_values(apps, schema_editor) -> None:
    client = schema_editor.client
    refresh: set[int] = set()  # third parties whose search text holds a rewritten phone
    for table in stored_values.SOURCES:
        async for batch in stored_values.rows(client, table):
            for row in batch:
                changed, _ = stored_values.review(table, row)
                if changed:
                    values = _with_keys(row, changed) if table == "crm_thirdparty" else changed
                    await _update(client, table, row["id"], values)
                if "phone" in changed:
                    refresh.add(row["owner"])
    for thirdparty_id in sorted(refresh):
        await _refresh_search_text(client, thirdparty_id)


def _with_keys(row: dict, changed: dict) -> dict:
    """A third party's changed values and the lookup keys that follow from them."""
    values = {**changed}
    if "email" in changed:
        values["email_key"] = changed["email"].lower()
    if "phone" in changed or "country" in changed:
        values["phone_key"] = phones.e164(changed.get("phone", row["phone"]), changed.get("country", row["country"]))
    return values


async def _update(client, table: str, row_id: int, values: dict) -> None:
    assignments = ", ".join(f"{column} = ?" for column in values)
    await client.execute_query(sql(client, f"UPDATE {table} SET {assignments} WHERE id = ?"), [*values.values(), row_id])


async def _refresh_search_text(client, thirdparty_id: int) -> None:
    own_columns = ", ".join(search.OWN_FIELDS)
    [own] = await client.execute_query_dict(
        sql(client, f"SELECT {own_columns} FROM crm_thirdparty WHERE id = ?"), [thirdparty_id])
    contacts = await client.execute_query_dict(
        sql(client, f"SELECT {', '.join(search.CONTACT_FIELDS)} FROM crm_contact WHERE thirdparty_id = ?"),
        [thirdparty_id])
    await client.execute_query(sql(client, "UPDATE crm_thirdparty SET search_text = ? WHERE id = ?"),
                               [search.haystack(own, contacts), thirdparty_id])


class Migration(migrations.Migration):
    dependencies = [('crm', '0007_merge_and_erasure')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='locale',
            field=fields.CharField(null=True, max_length=35),
        ),
        ops.RunPython(check_stored_values, ops.RunPython.noop),
    ]
