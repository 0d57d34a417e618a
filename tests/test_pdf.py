"""Commercial documents' PDFs (crm/documents/pdf.py): what they say, in the third party's
language; what the renderer refuses to fetch; the pool of worker processes."""
import asyncio
import dataclasses
import http.server
import io
import multiprocessing
import os
import signal
import threading
import urllib.request
from datetime import date
from decimal import Decimal

import jinja2
import pytest
from babel.messages.pofile import read_po
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import StreamObject

from crm.documents import pdf, richtext
from crm.documents.locales import LOCALE_DIR
from crm.documents.pdf import LocalAssetsOnly, PdfRenderer, RenderFailed, ResourceRefused, document_html, render_pdf
from crm.documents.printable import DOCUMENT_TYPES, Company, Party, PrintableDocument, PrintableLine
from crm.money import Line, document_totals, line_totals

pytestmark = pytest.mark.database_free

D = Decimal
# label, description, quantity, unit, unit price, discount %, VAT %
LINES = (
    ("SUPPORT-1Y - Support, one year", "Business hours, answer within 4 hours", "3", "h", "19.99", "0", "20"),
    ("TRAINING - Training", "", "1.5", "day", "33.33", "10", "5.5"),
    ("LICENCE - Licence", "", "2", "", "600", "0", "20"),
)
# Worked out by hand (crm/money.py's rule): 59.97 + 45.00 + 1,200.00 excl. tax;
# VAT 5.5%: 2.48; VAT 20%: 11.99 + 240.00 = 251.99; VAT 254.47; incl. tax 1,559.44.


def printable(type: str = "proposal", language: str = "en", lines=LINES, **fields) -> PrintableDocument:
    """A document as the domain hands it to the renderer, its figures from crm.money."""
    money_lines = [Line(D(quantity), D(price), D(discount), D(rate))
                   for _, _, quantity, _, price, discount, rate in lines]
    printed = tuple(
        PrintableLine(label, description, money.quantity, unit, money.unit_price, money.discount_percent,
                      money.vat_rate, *dataclasses.astuple(line_totals(money, "EUR")))
        for (label, description, _, unit, *_), money in zip(lines, money_lines))
    values = dict(
        type=type, ref="PR2611-00001", status="validated", language=language, currency="EUR",
        issued_on=date(2026, 11, 28), valid_until=date(2026, 12, 28),
        company=Company("Widgets SARL", address="1 rue de la Paix\nBâtiment B", zip="75002", town="Paris",
                        country="FR", vat_id="FR12345678901"),
        recipient=Party("Acme Corp", address="5 Main Street", zip="10001", town="New York", country="US",
                        vat_id="US123456", attention="Jane Doe"),
        rep_name="Alice Martin", lines=printed, totals=document_totals(money_lines, "EUR"),
        note_public="Payment within 30 days.", description_html="<p>Our offer for <strong>your new site</strong></p>",
    )
    return PrintableDocument(**{**values, **fields})


def text_of(data: bytes) -> str:
    """The PDF's text, its line breaks and no-break spaces (Babel's, in "1 559,44 €") as spaces."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def page_count(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def every_stream(data: bytes) -> bytes:
    """Every stream of the PDF, decompressed: page contents, fonts, images, embedded files."""
    reader = PdfReader(io.BytesIO(data))
    streams = (reader.get_object(number) for number in range(1, reader.trailer["/Size"]))
    return b"".join(stream.get_data() for stream in streams if isinstance(stream, StreamObject))


@pytest.fixture(scope="module")
async def renderer():
    async with PdfRenderer(workers=2) as renderer:
        yield renderer


class RecordingServer(http.server.ThreadingHTTPServer):
    """A loopback web server that answers everything and remembers every path asked for."""

    def __init__(self):
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = b"body { color: red } " if self.path.endswith(".css") else b"GIF89a"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def web_server():
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def hostile_html(url: str) -> str:
    """Every way HTML and CSS have to make a renderer fetch something."""
    return (f'<style>@import url("{url}/import.css"); body {{ background: url("{url}/background.png") }}'
            f'@font-face {{ font-family: Spy; src: url("{url}/font.ttf") }} p {{ font-family: Spy }}</style>'
            f'<link rel="stylesheet" href="{url}/link.css"><img src="{url}/image.png">'
            f'<p style="background: url({url}/inline.png)">styled</p><object data="{url}/object"></object>'
            f'<embed src="{url}/embed"><iframe src="{url}/iframe"></iframe>'
            f'<svg><image href="{url}/svg.png" width="10" height="10"/></svg>'
            f'<a rel="attachment" href="{url}/attachment">attachment</a><a href="{url}/link">a link</a>')


# -- what a PDF says ---------------------------------------------------------------


def test_an_english_proposal_shows_parties_dates_lines_and_totals():
    text = text_of(render_pdf(printable()))
    for expected in (
        "Commercial proposal PR2611-00001",
        "Widgets SARL", "1 rue de la Paix", "Bâtiment B", "75002 Paris", "France", "VAT ID FR12345678901",
        "Acme Corp", "For the attention of Jane Doe", "5 Main Street", "10001 New York", "United States",
        "VAT ID US123456",
        "Date November 28, 2026", "Valid until December 28, 2026", "Sales representative Alice Martin",
        "Our offer for your new site",
        "Description Qty Unit Unit price excl. tax Discount VAT Total excl. tax",
        "SUPPORT-1Y - Support, one year", "Business hours, answer within 4 hours", "3 h €19.99 20% €59.97",
        "1.5 day €33.33 10% 5.5% €45.00", "€600.00 20% €1,200.00",
        "Total excl. tax €1,304.97", "VAT 5.5% €2.48", "VAT 20% €251.99", "Total VAT €254.47",
        "Total incl. tax €1,559.44",
        "Payment within 30 days.", "Accepted by the customer (date, name and signature):",
    ):
        assert expected in text
    assert "Paid" not in text and "Due date" not in text


def test_a_french_third_party_gets_french_labels_numbers_and_dates():
    text = text_of(render_pdf(printable(language="fr")))
    for expected in (
        "Proposition commerciale PR2611-00001", "Adressé à".upper(), "À l'attention de Jane Doe", "États-Unis",
        "N° TVA US123456", "Date 28 novembre 2026", "Valable jusqu'au 28 décembre 2026", "Commercial Alice Martin",
        "Désignation Qté Unité P.U. HT Remise TVA Total HT",
        "3 h 19,99 € 20 % 59,97 €", "1,5 day 33,33 € 10 % 5,5 % 45,00 €",
        "Total HT 1 304,97 €", "TVA 5,5 % 2,48 €", "TVA 20 % 251,99 €", "Total TVA 254,47 €", "Total TTC 1 559,44 €",
        "Bon pour accord (date, nom et signature) :",
    ):
        assert expected in text
    assert "Total excl. tax" not in text and "Commercial proposal" not in text


@pytest.mark.parametrize("language, title", [
    ("fr", "Proposition commerciale"), ("fr_BE", "Proposition commerciale"), ("fr-CA", "Proposition commerciale"),
    ("FR", "Proposition commerciale"), ("en_GB", "Commercial proposal"), ("", "Commercial proposal"),
    ("de", "Commercial proposal"), ("xx-YY", "Commercial proposal"), ("not a language!", "Commercial proposal"),
])
def test_the_language_picks_the_labels_and_unknown_ones_print_in_english(language, title):
    html = document_html(printable(language=language))
    assert f"<title>{title} PR2611-00001</title>" in html
    assert ('lang="fr"' if title.startswith("Proposition") else 'lang="en"') in html


def test_each_type_has_its_title_and_its_own_dates():
    invoice = text_of(render_pdf(printable("invoice", ref="IN2611-00007", due_on=date(2027, 1, 15), paid=D("500"),
                                           origin_ref="CO2611-00002", valid_until=None)))
    for expected in ("Invoice IN2611-00007", "Due date January 15, 2027", "Origin CO2611-00002",
                     "Total incl. tax €1,559.44", "Paid €500.00", "Remaining unpaid €1,059.44"):
        assert expected in invoice
    assert "Valid until" not in invoice and "Accepted by the customer" not in invoice

    facture = text_of(render_pdf(printable("invoice", language="fr", paid=D("1559.44"), due_on=date(2027, 1, 15))))
    for expected in ("Facture PR2611-00001", "Date d'échéance 15 janvier 2027", "Déjà réglé 1 559,44 €",
                     "Reste à payer 0,00 €"):
        assert expected in facture

    html = document_html(printable("intervention", intervention_on=date(2026, 12, 2), intervention_minutes=90))
    assert "Intervention report" in html and "December 2, 2026" in html and "1 hr, 30 min" in html
    html = document_html(printable("intervention", language="fr", intervention_minutes=45)).replace("\xa0", " ")
    assert "Fiche d'intervention" in html and "Durée" in html and "45 min" in html
    html = document_html(printable("order", language="fr", origin_ref="PR2611-00001"))
    assert "<title>Commande PR2611-00001</title>" in html and "Origine" in html


def test_every_label_of_the_templates_has_a_french_translation():
    environment = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    used = {message[0] if isinstance(message, tuple) else message  # (msgid, None) when given variables
            for path in pdf.TEMPLATE_DIR.glob("*.html")
            for _, _, message in environment.extract_translations(path.read_text())}
    with open(LOCALE_DIR / "fr" / "LC_MESSAGES" / "documents.po", "rb") as catalog_file:
        catalog = read_po(catalog_file)
    translated = {message.id for message in catalog if message.id and message.string}
    assert len(used) > 25
    assert used <= translated, used - translated


def test_what_people_typed_is_printed_as_typed():
    lines = (("<b>Not bold</b> & co", "a < b", "1", "", "10", "0", "20"),)
    data = render_pdf(printable(lines=lines, note_public='<script>alert("x")</script>',
                                recipient=Party("Smith & Sons <Ltd>", attention="O'Brien")))
    text = text_of(data)
    for expected in ("<b>Not bold</b> & co", "a < b", '<script>alert("x")</script>', "Smith & Sons <Ltd>",
                     "For the attention of O'Brien"):
        assert expected in text


def test_the_description_is_sanitized_again_when_printed():
    html = document_html(printable(description_html='<p onclick="x()">Hi <img src="x.png"><a href="javascript:go()">'
                                                    'js</a></p><script>alert(1)</script>'))
    assert "<p>Hi <a>js</a></p>" in html
    assert "<img" not in html and "onclick" not in html and "alert" not in html


def test_forty_lines_take_two_pages_and_every_line_is_printed():
    lines = tuple((f"ITEM-{number:02} - Item {number}", "Delivered and installed" if number % 5 == 0 else "",
                   "1", "", "10", "0", "20") for number in range(40))
    data = render_pdf(printable(lines=lines))
    text = text_of(data)
    assert page_count(data) >= 2
    assert all(f"ITEM-{number:02} - Item {number}" in text for number in range(40))
    assert "Total excl. tax €400.00" in text and "1 / 2" in text and "2 / 2" in text


def test_the_company_logo_is_printed(tmp_path):
    logo = tmp_path / "logo"  # named as in the file store: no extension
    Image.new("RGB", (60, 20), (200, 30, 30)).save(logo, format="PNG")
    with_logo = render_pdf(printable(company=Company("Widgets SARL", logo_path=str(logo))))
    assert len(PdfReader(io.BytesIO(with_logo)).pages[0].images) == 1
    assert len(PdfReader(io.BytesIO(render_pdf(printable()))).pages[0].images) == 0


# -- what the renderer refuses to fetch ----------------------------------------------


def test_the_fetcher_serves_bundled_assets_and_the_logo_only(tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG")
    fetcher = LocalAssetsOnly((logo,))
    stylesheet = fetcher.fetch(pdf.STYLESHEET.as_uri())
    assert (stylesheet.content_type, stylesheet.read()) == ("text/css", pdf.STYLESHEET.read_bytes())
    assert fetcher.fetch(logo.as_uri()).read() == b"\x89PNG"
    for url in ("file:///etc/passwd", pdf.ASSETS_DIR.as_uri() + "/../../../../../etc/passwd",
                pdf.ASSETS_DIR.as_uri() + "/%2e%2e/%2e%2e/base.html", (tmp_path / "other.png").as_uri(),
                "file://attacker.example/share/x.png", "http://127.0.0.1:9/x.png", "https://example.com/x.css",
                "data:text/css,body{}", "ftp://example.com/x"):
        with pytest.raises(ResourceRefused):
            fetcher.fetch(url)


def test_nothing_is_fetched_even_when_the_sanitizer_lets_everything_through(web_server, monkeypatch):
    urllib.request.urlopen(f"{web_server.url}/control.css").read()  # the server does record requests
    assert web_server.requests == ["/control.css"]
    monkeypatch.setattr(richtext, "sanitize", lambda html: html)
    url = web_server.url
    text = text_of(render_pdf(printable(
        description_html=hostile_html(url), note_public=f'<img src="{url}/note.png">',
        lines=((f'<img src="{url}/label.png">', f"url({url}/description.png)", "1", "", "1", "0", "20"),))))
    assert web_server.requests == ["/control.css"]
    assert "styled" in text and "a link" in text  # the hostile description was printed, unsanitized


async def test_user_content_rendered_by_the_pool_fetches_nothing(renderer, web_server):
    url = web_server.url
    data = await renderer.render(printable(description_html=hostile_html(url), note_public=f"{url}/note.png",
                                           recipient=Party(f'<img src="{url}/name.png">')))
    assert text_of(data).count(url) == 2  # the link's text was dropped, the note and the name show as typed
    assert web_server.requests == []


def test_local_files_are_neither_embedded_nor_printed(monkeypatch):
    monkeypatch.setattr(richtext, "sanitize", lambda html: html)
    hostile = ('<img src="file:///etc/passwd"><a rel="attachment" href="file:///etc/passwd">passwd</a>'
               '<link rel="attachment" href="/etc/passwd"><object data="file:///etc/passwd"></object>'
               '<iframe src="file:///etc/passwd"></iframe><img src="../../../../../../etc/passwd">'
               '<style>@import url("file:///etc/passwd"); body { background: url(/etc/passwd) }</style>')
    data = render_pdf(printable(description_html=hostile))
    assert b"root:x:0:0" not in every_stream(data) and "root:x:0:0" not in text_of(data)
    # a file that is let in (as the logo is) would be found by the same search
    leaked = render_pdf(printable(description_html=hostile, company=Company("Widgets", logo_path="/etc/passwd")))
    assert b"root:x:0:0" in every_stream(leaked)


# -- the pool ------------------------------------------------------------------------


async def test_the_pool_renders_documents_side_by_side(renderer):
    refs = [f"PR2611-{number:05}" for number in range(1, 7)]
    documents = await asyncio.gather(*(renderer.render(printable(type, ref=ref, language=language))
                                       for ref, type, language in zip(refs, DOCUMENT_TYPES * 2, ("en", "fr") * 3)))
    assert [data[:5] for data in documents] == [b"%PDF-"] * 6
    assert [ref in text_of(data) for ref, data in zip(refs, documents)] == [True] * 6
    assert "Total incl. tax €1,559.44" in text_of(documents[0]) and "Total TTC 1 559,44 €" in text_of(documents[1])


class WorkerKiller(PrintableDocument):
    """A document whose unpickling ends the worker process that receives it."""

    def __reduce__(self):
        return os._exit, (1,)


async def test_the_pool_survives_its_workers_dying():
    before = set(multiprocessing.active_children())
    async with PdfRenderer(workers=1) as renderer:
        (worker,) = set(multiprocessing.active_children()) - before
        rendering = asyncio.ensure_future(renderer.render(printable(ref="PR2611-00042")))
        await asyncio.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
        assert "PR2611-00042" in text_of(await rendering)  # tried again in a new worker

        killer = WorkerKiller(**{field.name: getattr(printable(), field.name)
                                 for field in dataclasses.fields(PrintableDocument)})
        with pytest.raises(RenderFailed, match="The PDF of PR2611-00001 could not be made"):
            await renderer.render(killer)
        assert "PR2611-00043" in text_of(await renderer.render(printable(ref="PR2611-00043")))
