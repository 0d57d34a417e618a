"""Company details for documents: admins set them in /crm settings, with a logo uploaded in
the form and fetched from Slack; the PDF prints them."""
import io
import struct
import zlib

import pytest
from pypdf import PdfReader

from crm import clock, company
from crm.context import Context
from crm.documents import printing
from crm.documents.pdf import render_pdf
from crm.errors import Forbidden, ValidationError
from models import CompanyProfile
from tests.conftest import ADMIN, ALICE, context
from tests.slack_forms import suggested
from tests.slack_stub import UploadedFile
from tests.test_documents import draft


def png(width: int = 2, height: int = 2) -> bytes:
    """A small valid PNG (red pixels)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def test_only_admins_set_the_company_and_a_logo_must_be_an_image(db, settings):
    with pytest.raises(Forbidden):
        await company.update(context(ALICE), {"name": "Widgets SARL"})
    with pytest.raises(ValidationError) as error:
        await company.update(context(ADMIN), {"name": "Widgets SARL"}, logo=b"<svg onload=alert(1)>")
    assert error.value.field == "logo"
    with pytest.raises(ValidationError) as error:
        await company.update(context(ADMIN), {"name": "Widgets SARL", "country": "Narnia"})
    assert error.value.field == "country"
    assert await CompanyProfile.all().count() == 0


async def test_an_admin_sets_the_details_and_logo_from_slack_and_the_pdf_prints_them(admin, slack, server):
    await admin.command("settings")
    settings_form = (await slack.wait_for("views.open"))[-1].args["view"]
    assert "Not set yet." in str(settings_form["blocks"])
    await admin.action("company_edit", "", view={"id": "VSETTINGS", **settings_form})
    form = (await slack.wait_for("views.push"))[-1].args["view"]
    slack.files["F0LOGO"] = UploadedFile("F0LOGO", "logo.png", "logo", png(), None, None)
    logo = {"id": "F0LOGO", "name": "logo.png", "url_private_download": f"{slack.base_url}files/F0LOGO"}
    saved = await admin.submit_form(form, {"name": "Widgets SARL", "address": "1 rue de la Paix", "zip": "75002",
                                           "town": "Paris", "country": await suggested(admin, form, "country", "fr"),
                                           "vat_id": "FR12345678901",
                                           "logo": [logo]}, previous_view_id="VSETTINGS")
    assert (saved.status, saved.text) == (200, "")
    details = await company.details(Context(ADMIN, server.settings, clock))
    assert (details.name, details.town, details.vat_id, details.country) == (
        "Widgets SARL", "Paris", "FR12345678901", "FR")
    assert details.logo_path and open(details.logo_path, "rb").read() == png()
    refreshed = (await slack.wait_for("views.update"))[-1].args["view"]
    assert "Widgets SARL · Paris · FR12345678901" in str(refreshed["blocks"]) and "With a logo." in str(refreshed)

    document = await draft("proposal")
    pdf = render_pdf(await printing.printable(Context(ADMIN, server.settings, clock), document.id))
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert "Widgets SARL" in page.extract_text() and "FR12345678901" in page.extract_text()
    assert len(page.images) == 1  # the logo, and nothing else


async def test_a_logo_is_fetched_from_slack_only(admin, slack):
    await admin.command("settings")
    settings_form = (await slack.wait_for("views.open"))[-1].args["view"]
    await admin.action("company_edit", "", view={"id": "VSETTINGS", **settings_form})
    form = (await slack.wait_for("views.push"))[-1].args["view"]
    elsewhere = {"id": "F0EVIL", "url_private_download": "http://127.0.0.1:1/steal"}
    refused = await admin.submit_form(form, {"name": "Widgets SARL", "logo": [elsewhere]})
    assert refused.json == {"response_action": "errors", "errors": {
        "logo": "Logo: Slack did not say where the file is; upload it again."}}
    unreachable = {"id": "F0GONE", "url_private_download": f"{slack.base_url}files/F0GONE"}
    refused = await admin.submit_form(form, {"name": "Widgets SARL", "logo": [unreachable]})
    assert refused.json["errors"] == {"logo": "Logo: Slack did not give the file just now; upload it again."}
    assert await CompanyProfile.all().count() == 0
