"""Imports (SPEC §6): our export format and Dolibarr's, matching, refused rows, dry runs, contacts,
and `crm import` as a real command."""
import asyncio
import csv
import io
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest

from crm import clock, contacts, customfields, exports, imports, thirdparties
from crm.errors import ValidationError
from models import Contact, Event, ThirdParty, ThirdPartyAlias
from tests import database
from tests.conftest import ADMIN, context
from tests.tcp_proxy import TcpProxy
from tests.test_cli import run_crm

MARCH = datetime(2026, 3, 15, 12, 0, tzinfo=timezone.utc)
DOLIBARR_HEADER = ("Id;Name;Alias Name;Status;Customer;Supplier;Customer Code;Address;Zip Code;City;Country;"
                   "Country code;Phone;Url;Email;Language default;VAT ID;Note (private);Note (public);Creation date")


async def define_fields() -> None:
    admin = context(ADMIN)
    await customfields.define(admin, "thirdparty", "budget", "Budget", "amount")
    await customfields.define(admin, "thirdparty", "since", "Client since", "date")
    await customfields.define(admin, "thirdparty", "segments", "Segments", "multiselect", options=[
        {"key": "smb", "label": "Small business"}, {"key": "ent", "label": "Enterprise"}])
    await customfields.define(admin, "thirdparty", "partner", "Partner", "boolean")
    await customfields.define(admin, "contact", "badge", "Badge", "integer")


async def import_csv(text: str, what: str = "thirdparties", **options) -> imports.ImportReport:
    run = imports.import_thirdparties if what == "thirdparties" else imports.import_contacts
    return await run(context(), io.StringIO(text, newline=""), **options)


async def exported(what: str = "thirdparties") -> str:
    stream = io.StringIO(newline="")
    export = exports.export_thirdparties if what == "thirdparties" else exports.export_contacts
    await export(context(), stream, "csv")
    return stream.getvalue()


def without_created_at(text: str) -> list[list[str]]:
    [header, *rows] = list(csv.reader(io.StringIO(text, newline="")))
    kept = [index for index, column in enumerate(header) if column != "created_at"]
    return [[row[index] for index in kept] for row in [header, *rows]]


def refusals(report: imports.ImportReport) -> list[tuple[int, str]]:
    return [(refusal.row, refusal.field) for refusal in report.refused]


# --- our format ---

async def test_export_then_import_into_an_empty_database_gives_the_same_data(db):
    clock.freeze(MARCH)
    await define_fields()
    ctx = context()
    acme = await thirdparties.create(ctx, {
        "name": "Acme, Inc.", "type": "customer", "alias": "ACW", "email": "Sales@ACME.example",
        "phone": "+33 1 23 45 67 89", "website": "acme.example", "address": '1 "Grand" Rue\nBât. B', "zip": "75002",
        "town": "Paris", "country": "fr", "language": "fr", "vat_id": "FR 12 345"},
        tags=["vip", "b2b"], sales_reps=["U0BOB", "U0ALICE"],
        custom={"budget": "1234.50", "since": "2020-01-31", "segments": "ent;smb", "partner": "yes"})
    await thirdparties.create(ctx, {"name": "=HYPERLINK(\"http://evil.example\")", "type": "prospect",
                                    "alias": "@SUM(A1)"}, custom={"budget": "-5.00", "partner": "no"})
    await thirdparties.create(ctx, {"name": "Société Générale — Zürich 日本", "type": "both", "status": "closed"})
    await contacts.create(ctx, acme.id, {"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.example",
                                         "default_roles": "billing,customer"}, custom={"badge": "7"})
    companies, people = await exported(), await exported("contacts")

    await database.empty_all_tables()
    await define_fields()
    report = await import_csv(companies)
    assert (report.created, report.updated, report.refused) == (3, 0, [])
    assert report.ignored_columns == ["created_at"]  # a record's creation is the import's
    assert (await import_csv(people, "contacts")).created == 1

    assert without_created_at(await exported()) == without_created_at(companies)
    assert without_created_at(await exported("contacts")) == without_created_at(people)


async def test_a_neutralised_formula_comes_back_without_its_quote(db):
    report = await import_csv("name,type,alias\r\n\"'=SUM(A1)\",prospect,'@x\r\n")
    assert report.created == 1
    stored = await ThirdParty.get()
    assert (stored.name, stored.alias) == ("=SUM(A1)", "@x")


async def test_a_code_of_its_own_is_kept_and_the_numbering_skips_it(db):
    clock.freeze(MARCH)
    await import_csv("code,name,type\r\nCU2603-00001,Imported,customer\r\n")
    drawn = await thirdparties.create(context(), {"name": "New", "type": "customer"})
    assert drawn.code == "CU2603-00002"
    assert await ThirdParty.filter(code="CU2603-00001", name="Imported").exists()


async def test_creating_with_a_code_already_taken_names_the_code(db):
    made = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    with pytest.raises(ValidationError) as refused:
        await thirdparties.create(context(), {"name": "Other", "type": "customer"}, code=made.code)
    assert refused.value.field == "code" and made.code in refused.value.message
    assert await ThirdParty.all().count() == 1


# --- Dolibarr's export ---

DOLIBARR_ROWS = [
    "1;Acme Widgets;ACW;1;1;0;CU2301-0001;1 rue de la Paix;75002;Paris;France;FR;+33 1 23 45 67 89;"
    "www.acme.example;sales@acme.example;fr_FR;FR12345678901;keep it quiet;;2023-01-05 10:00:00",
    "2;Globex;;1;2;0;CU2301-0002;;;Berlin;Germany;;;;;;;;Met at a fair;2023-01-06 11:00:00",
    "3;Initech;;0;3;1;CU2302-0003;;;;United Kingdom;;;;;en_GB;;;;2023-02-01 09:00:00",
    "4;Supplies Ltd;;1;0;1;SU2302-0004;;;;;;;;;;;;;2023-02-02 09:00:00",
]


async def test_dolibarr_export_with_its_codes_kept_and_types_mapped(db):
    text = "\ufeff" + "\r\n".join([DOLIBARR_HEADER, *DOLIBARR_ROWS]) + "\r\n"
    report = await import_csv(text)
    assert (report.created, report.refused) == (4, [])
    assert report.ignored_columns == ["Id", "Supplier", "Creation date"]
    rows = {tp.code: tp for tp in await ThirdParty.all()}
    assert {code: (tp.name, tp.type, tp.status) for code, tp in rows.items()} == {
        "CU2301-0001": ("Acme Widgets", "customer", "active"),
        "CU2301-0002": ("Globex", "prospect", "active"),
        "CU2302-0003": ("Initech", "both", "closed"),
        "SU2302-0004": ("Supplies Ltd", "prospect", "active"),  # neither customer nor prospect
    }
    acme = rows["CU2301-0001"]
    assert (acme.alias, acme.country, acme.language, acme.website, acme.vat_id, acme.note_private, acme.zip) == (
        "ACW", "FR", "fr_FR", "https://www.acme.example", "FR12345678901", "keep it quiet", "75002")
    assert (rows["CU2301-0002"].country, rows["CU2301-0002"].note_public) == ("DE", "Met at a fair")
    assert rows["CU2302-0003"].country == "GB"


async def test_dolibarr_headers_with_table_aliases_and_commas(db):
    report = await import_csv("s.nom,s.code_client,s.client,c.code,s.email\r\nAcme,C-1,1,fr,a@acme.example\r\n")
    assert (report.created, report.ignored_columns) == (1, [])
    stored = await ThirdParty.get()
    assert (stored.name, stored.code, stored.type, stored.country, stored.email) == (
        "Acme", "C-1", "customer", "FR", "a@acme.example")


# --- refused rows ---

async def test_bad_rows_are_reported_with_their_spreadsheet_row_and_the_good_ones_imported(db):
    await define_fields()
    text = ("name,type,email,address,cf.segments,colour\r\n"
            "Good One,customer,one@example.com,,,red\r\n"                        # row 2
            "Bad Email,customer,not-an-email,,,\r\n"                             # row 3
            ",prospect,,,,\r\n"                                                  # row 4: no name
            "Two Lines,customer,,\"1 Main St\nSuite 5\",,\r\n"                  # row 5, on two lines
            "\r\n"                                                               # row 6, blank
            "Bad Type,supplier,,,,\r\n"                                          # row 7
            "Bad Option,customer,,,gold,\r\n"                                    # row 8
            "Good Two,prospect,,,smb,\r\n")                                      # row 9
    read = []
    report = await import_csv(text, batch=3, progress=read.append)
    assert read == [3, 3, 1]  # rows a batch, the blank line aside
    assert refusals(report) == [(3, "email"), (4, "name"), (7, "type"), (8, "cf.segments")]
    assert "not-an-email" in report.refused[0].reason
    assert (report.created, report.updated) == (3, 0)
    assert report.ignored_columns == ["colour"]
    assert sorted(await ThirdParty.all().values_list("name", flat=True)) == ["Good One", "Good Two", "Two Lines"]


async def test_an_unknown_custom_field_column_is_ignored(db):
    report = await import_csv("name,type,cf.nowhere\r\nAcme,customer,x\r\n")
    assert (report.created, report.ignored_columns) == (1, ["cf.nowhere"])


# --- matching ---

async def test_importing_again_updates_instead_of_duplicating(db):
    text = "code,name,type,town,tags\r\nC-1,Acme,customer,Paris,vip\r\nC-2,Globex,prospect,,\r\n"
    assert (await import_csv(text)).created == 2
    again = await import_csv(text)
    assert (again.created, again.updated, again.refused) == (0, 2, [])
    assert await ThirdParty.all().count() == 2
    assert await Event.filter(code="COMPANY_MODIFY").count() == 0  # nothing changed, nothing recorded

    changed = await import_csv("code,name,type,town,phone\r\nC-1,Acme,both,,+33 1 23 45 67 89\r\n")
    assert changed.updated == 1
    acme = await ThirdParty.get(code="C-1")
    assert (acme.type, acme.town, acme.phone) == ("both", "Paris", "+33123456789")  # empty cells change nothing


async def test_a_row_without_a_known_code_matches_by_email_in_any_case(db):
    made = await thirdparties.create(context(), {"name": "Acme", "type": "customer", "email": "sales@acme.example"})
    report = await import_csv("name,type,email,town\r\nAcme Widgets,customer,SALES@Acme.example,Lyon\r\n")
    assert (report.created, report.updated) == (0, 1)
    stored = await ThirdParty.get(id=made.id)
    assert (stored.name, stored.town, stored.code) == ("Acme Widgets", "Lyon", made.code)


async def test_rows_repeating_a_code_in_one_file_update_the_first(db):
    report = await import_csv("code,name,type\r\nC-1,Acme,customer\r\nC-1,Acme Widgets,customer\r\n")
    assert (report.created, report.updated) == (1, 1)
    assert await ThirdParty.all().values_list("name", flat=True) == ["Acme Widgets"]


# --- new rows written together ---

SEARCH_COLUMNS = ("name", "name_fold", "name_key", "email", "email_key", "phone", "phone_key", "vat_id", "vat_key",
                  "country", "search_text", "status", "created_by")


async def test_a_batch_of_new_rows_updates_and_bad_rows_is_written_as_row_by_row(db):
    await define_fields()
    ctx = context()
    existing = await thirdparties.create(ctx, {"name": "Acme", "type": "customer", "email": "sales@acme.example"})
    text = ("code,name,type,email,phone,country,vat_id,tags,sales_reps,cf.budget,cf.segments\r\n"
            "N-1,Globex,prospect,info@globex.example,01 23 45 67 89,FR,FR 12 345,vip;b2b,U0BOB;U0ALICE,12.50,smb\r\n"
            f"{existing.code},Acme Corp,,,,,,,,,\r\n"                         # row 3: updates by code
            ",Initech,customer,not-an-email,,,,,,,\r\n"                       # row 4: refused
            ",Acme Again,customer,SALES@acme.example,,,,,,,\r\n"              # row 5: updates by email
            ",Umbrella,both,,,,,vip,,,\r\n"                                   # row 6
            "N-1,Globex SA,,,,,,,,,\r\n"                                      # row 7: updates row 2
            ",Hooli,customer,,,,,,,oops,\r\n")                                # row 8: refused
    report = await import_csv(text, batch=10)
    assert refusals(report) == [(4, "email"), (8, "cf.budget")]
    assert (report.created, report.updated) == (2, 3)
    globex = await ThirdParty.get(code="N-1")
    assert globex.name == "Globex SA"
    assert (await thirdparties.card(ctx, globex.id)).tags == ["b2b", "vip"]
    assert (await thirdparties.card(ctx, globex.id)).sales_reps == ["U0BOB", "U0ALICE"]
    values = (await customfields.values_by_owner("thirdparty", [globex.id]))[globex.id]
    assert (str(values["budget"]), values["segments"]) == ("12.50", ["smb"])
    assert (await ThirdParty.get(id=existing.id)).name == "Acme Again"
    created = await Event.filter(code="COMPANY_CREATE").order_by("id").values_list("label", flat=True)
    assert created == ["Customer Acme created", "Prospect Globex created", "Prospect and customer Umbrella created"]

    # the columns create derives, as create derives them
    alone = await thirdparties.create(ctx, {"name": "Globex", "type": "prospect", "email": "info@globex.example",
                                            "phone": "01 23 45 67 89", "country": "FR", "vat_id": "FR 12 345"})
    imported = await import_csv("name,type,email,phone,country,vat_id\r\n"
                                "Globex,prospect,info2@globex.example,01 23 45 67 89,FR,FR 12 345\r\n")
    assert imported.created == 1
    [by_import] = await ThirdParty.filter(email="info2@globex.example").values(*SEARCH_COLUMNS)
    [by_create] = await ThirdParty.filter(id=alone.id).values(*SEARCH_COLUMNS)
    assert by_import == {**by_create, "email": "info2@globex.example", "email_key": "info2@globex.example",
                         "search_text": by_create["search_text"].replace("info globex", "info2 globex")}


async def test_drawn_codes_are_unique_and_gapless_even_past_a_code_the_file_brings(db):
    clock.freeze(MARCH)
    rows = [f",Company {n},customer" for n in range(1, 13)]
    rows[0] = "CU2603-00004,Company 1,customer"  # a code the numbering draws in the same batch: skipped
    report = await import_csv("code,name,type\r\n" + "\r\n".join(rows) + "\r\n", batch=5)
    assert (report.created, report.refused) == (12, [])
    codes = await ThirdParty.all().order_by("id").values_list("code", flat=True)
    assert sorted(codes) == [f"CU2603-{n:05d}" for n in range(1, 13)]
    assert [code for name, code in await ThirdParty.all().order_by("id").values_list("name", "code")
            if name != "Company 1"] == sorted(set(codes) - {"CU2603-00004"})  # in the file's order
    assert await Event.filter(code="COMPANY_CREATE").count() == 12


async def test_two_new_rows_with_one_unique_value_keep_the_first(db):
    await customfields.define(context(ADMIN), "thirdparty", "siret", "SIRET", "text", unique=True)
    report = await import_csv("name,type,cf.siret\r\nAcme,customer,123\r\nAcme Bis,customer,123\r\n"
                              "Globex,customer,456\r\n")
    assert refusals(report) == [(3, "cf.siret")]
    assert "already used by another record" in report.refused[0].reason
    assert sorted(await ThirdParty.all().values_list("name", flat=True)) == ["Acme", "Globex"]


async def test_the_code_of_a_merged_record_updates_the_one_kept(db):
    kept = await thirdparties.create(context(), {"name": "Kept", "type": "customer"})
    await ThirdPartyAlias.create(code="OLD-1", thirdparty_id=kept.id, created_at=clock.now())
    report = await import_csv("code,name,type\r\nOLD-1,Kept Again,customer\r\nNEW-1,New,prospect\r\n")
    assert (report.created, report.updated, report.refused) == (1, 1, [])
    assert (await ThirdParty.get(id=kept.id)).name == "Kept Again"


# --- dry run ---

async def test_a_dry_run_reports_and_writes_nothing(db):
    existing = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    text = f"code,name,type\r\n{existing.code},Acme Corp,customer\r\nC-9,Globex,prospect\r\nC-10,,prospect\r\n"
    report = await import_csv(text, dry_run=True, batch=2)
    assert (report.dry_run, report.created, report.updated, refusals(report)) == (True, 1, 1, [(4, "name")])
    assert await ThirdParty.all().values_list("name", flat=True) == ["Acme"]
    assert await Event.all().count() == 1
    assert (await thirdparties.create(context(), {"name": "Next", "type": "customer"})).code.endswith("00002")


# --- contacts ---

async def test_contacts_come_in_linked_by_their_third_partys_code(db):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    text = ("thirdparty_code,first_name,last_name,email,lang\r\n"
            f"{acme.code},Jane,Doe,jane@acme.example,fr\r\n"
            "NOPE-1,John,Roe,john@example.com,\r\n"
            f"{acme.code},Ann,,,\r\n")
    report = await import_csv(text, "contacts")
    assert (report.created, refusals(report)) == (2, [(3, "thirdparty_code")])
    assert "NOPE-1" in report.refused[0].reason

    again = await import_csv(f"thirdparty_code,email,job_title\r\n{acme.code},JANE@acme.example,CEO\r\n", "contacts")
    assert (again.created, again.updated) == (0, 1)
    jane = await Contact.get(first_name="Jane")
    assert (jane.thirdparty_id, jane.first_name, jane.job_title, jane.language) == (acme.id, "Jane", "CEO", "fr")
    assert await Contact.all().count() == 2

    without_email = await import_csv(f"thirdparty_code,first_name,phone\r\n{acme.code},ann,+33 1 23 45 67 89\r\n",
                                     "contacts")
    assert (without_email.created, without_email.updated) == (0, 1)  # same names, no email: the same person
    assert await Contact.filter(first_name__iexact="ann").values_list("phone", flat=True) == ["+33123456789"]


# --- the command ---

def test_crm_import_reports_refused_rows_and_a_dry_run_writes_nothing(tmp_path):
    url = f"sqlite://{tmp_path / 'crm.sqlite3'}"
    assert run_crm("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0
    (tmp_path / "in.csv").write_text(
        "\ufeffcode;name;type;email\r\nC-1;Acme;customer;a@acme.example\r\nC-2;Globex;nope;\r\n", encoding="utf-8")

    dry = run_crm("import", "thirdparties", "in.csv", "--dry-run", database_url=url, cwd=tmp_path)
    assert dry.returncode == 1, dry.stderr
    assert "row 3: type:" in dry.stdout.decode()
    assert "dry run" in dry.stdout.decode() and "1 created, 0 updated, 1 refused" in dry.stdout.decode()

    done = run_crm("import", "thirdparties", "in.csv", "--as", "U0ALICE", database_url=url, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "1 created, 0 updated, 1 refused" in done.stdout.decode() and "dry run" not in done.stdout.decode()
    (tmp_path / "people.csv").write_text("thirdparty_code,first_name\r\nC-1,Jane\r\n", encoding="utf-8")
    people = run_crm("import", "contacts", "people.csv", database_url=url, cwd=tmp_path)
    assert people.returncode == 0, people.stderr
    assert "1 created, 0 updated, 0 refused" in people.stdout.decode()
    exported_rows = run_crm("export", "thirdparties", database_url=url, cwd=tmp_path).stdout.decode()
    assert [row[:2] for row in csv.reader(io.StringIO(exported_rows, newline=""))][1:] == [["C-1", "Acme"]]


def test_crm_import_names_a_missing_file_and_one_that_is_not_utf8(tmp_path):
    url = f"sqlite://{tmp_path / 'crm.sqlite3'}"
    assert run_crm("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0
    result = run_crm("import", "thirdparties", "absent.csv", database_url=url, cwd=tmp_path)
    assert result.returncode == 2 and b"absent.csv" in result.stderr
    (tmp_path / "latin1.csv").write_bytes("name,type\r\nSoci\u00e9t\u00e9,customer\r\n".encode("latin-1"))
    result = run_crm("import", "thirdparties", "latin1.csv", database_url=url, cwd=tmp_path)
    assert result.returncode == 2 and b"not UTF-8" in result.stderr


@pytest.mark.postgres_only
async def test_crm_import_stopped_by_the_database_says_what_is_saved_and_carries_on_when_run_again(
        tmp_path, own_database):
    assert (await asyncio.to_thread(run_crm, "db", "upgrade", database_url=own_database, cwd=tmp_path)).returncode == 0
    batch = imports.BATCH
    rows = "".join(f"C-{n:04d},Company {n},customer\r\n" for n in range(batch + 50))
    (tmp_path / "in.csv").write_text("code,name,type\r\n" + rows, encoding="utf-8")
    parts = urlsplit(own_database)
    async with TcpProxy(parts.hostname, parts.port or 5432) as proxy:
        proxy.freeze_when(f"C-{batch + 20:04d}".encode())  # in the second batch, read before it is written
        asyncio.get_running_loop().call_later(5, proxy.thaw)  # long past the query timeout
        stopped = await asyncio.to_thread(run_crm, "import", "thirdparties", "in.csv",
                                          database_url=proxy.url_for(own_database), cwd=tmp_path)
    assert stopped.returncode == 1
    assert f"{batch} created, 0 updated, 0 refused" in stopped.stdout.decode()
    assert f"Stopped at row {batch + 2}" in stopped.stderr.decode() and "import the file again" in stopped.stderr.decode()

    again = await asyncio.to_thread(run_crm, "import", "thirdparties", "in.csv",
                                    database_url=own_database, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"50 created, {batch} updated, 0 refused" in again.stdout.decode()
