"""A commercial document's PDF: a `PrintableDocument` through the templates of
templates/documents, laid out by WeasyPrint.

The renderer reads nothing but the bundled templates and assets and the company's logo:
every other URL (a web address, another file, data: URLs), whether in a template, the
stylesheet or a description that slipped past the sanitizer, is refused unfetched.

Laying out a PDF takes a CPU for a good fraction of a second, so the app renders through a
`PdfRenderer`, whose worker processes keep the event loop free; `render_pdf` renders in the
calling process (tests, the benchmark's baseline, the workers themselves).
"""
from __future__ import annotations

import asyncio
import mimetypes
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from crm.documents import locales, richtext
from crm.documents.printable import DOCUMENT_TYPES, Company, Party, PrintableDocument, PrintableLine
from crm.errors import DomainError
from crm.money import Line, document_totals, line_totals

TEMPLATE_DIR = locales.TEMPLATE_DIR
ASSETS_DIR = TEMPLATE_DIR / "assets"
STYLESHEET = ASSETS_DIR / "document.css"
# Workers start fresh interpreters: a forked copy of the app would share its event loop's
# state and database connections.
POOL_START_METHOD = "spawn"
WARM_UP_TIMEOUT = 60  # seconds for a new worker to import WeasyPrint and render a first page


class ResourceRefused(ValueError):
    """A URL the renderer will not fetch. WeasyPrint leaves the image or stylesheet out."""


class RenderFailed(DomainError):
    pass


class LocalAssetsOnly(URLFetcher):
    """Fetches the files under templates/documents/assets and the files it is given (the
    company logo); refuses everything else."""

    def __init__(self, allowed_files: tuple[Path, ...] = ()):
        super().__init__(allowed_protocols=("file",), allow_redirects=False)
        self.allowed_files = frozenset(path.resolve() for path in allowed_files)

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        path = self.allowed_path(url)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    def allowed_path(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ResourceRefused(f"{url[:200]}: a document's PDF fetches nothing from the network")
        path = Path(url2pathname(parts.path)).resolve()  # resolved: no way out of the assets through ".."
        if path in self.allowed_files or (path.is_relative_to(ASSETS_DIR.resolve()) and path.is_file()):
            return path
        raise ResourceRefused(f"{url[:200]}: neither a bundled asset nor the company logo")


def render_pdf(document: PrintableDocument) -> bytes:
    """The PDF of `document`, rendered in this process."""
    logo = (Path(document.company.logo_path),) if document.company.logo_path else ()
    html = HTML(string=document_html(document), base_url=ASSETS_DIR.as_uri() + "/", url_fetcher=LocalAssetsOnly(logo))
    return html.write_pdf(stylesheets=[_stylesheet()], font_config=_font_config())


def document_html(document: PrintableDocument) -> str:
    if document.type not in DOCUMENT_TYPES:
        raise ValueError(f"{document.type!r} is not a document type ({', '.join(DOCUMENT_TYPES)})")
    locale = locales.document_locale(document.language)
    template = _environment(locale.language).get_template(f"{document.type}.html")
    return template.render(
        document=document,
        f=locales.Formats(locale, document.currency),
        # sanitized when it was made, and once more here: this is what reaches the PDF
        description=Markup(richtext.sanitize(document.description_html)),
        logo_url=Path(document.company.logo_path).absolute().as_uri() if document.company.logo_path else None,
    )


@cache
def _environment(language: str) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(locales.translations(language), newstyle=True)
    return environment


@cache
def _font_config() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheet() -> CSS:
    return CSS(filename=STYLESHEET, url_fetcher=LocalAssetsOnly(), font_config=_font_config())


def warm_up() -> None:
    """Loads what every document needs (WeasyPrint, the templates of every language, the
    stylesheet, the fonts), so that the first real document does not wait for it."""
    for language in locales.languages():
        for document_type in DOCUMENT_TYPES:
            _environment(language).get_template(f"{document_type}.html")
    render_pdf(_warm_up_document())


def _start_worker(warm) -> None:
    warm_up()
    warm.release()


def _warm_up_document() -> PrintableDocument:
    line = Line(Decimal(1), Decimal(1), Decimal(0), Decimal(20))
    figures = line_totals(line, "EUR")
    return PrintableDocument(
        type="proposal", ref="WARM-UP", status="draft", language="en", currency="EUR", issued_on=date(2000, 1, 1),
        company=Company("Warm-up"), recipient=Party("Warm-up"), rep_name="",
        lines=(PrintableLine("Warm-up", "", line.quantity, "", line.unit_price, line.discount_percent,
                             line.vat_rate, figures.excl_tax, figures.vat),),
        totals=document_totals([line], "EUR"),
    )


class PdfRenderer:
    """Renders PDFs in worker processes (one per CPU by default), each warmed up once.

    A worker that dies (killed, out of memory) breaks the whole pool: the renderer then
    starts a new one and tries each document that was in flight once more.
    """

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self._pool = self._new_pool()

    async def __aenter__(self) -> PdfRenderer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Starts every worker now rather than at the first documents, and returns once all are warm."""
        loop = asyncio.get_running_loop()
        # a pool starts a worker for each task that finds none idle: one task each starts them all
        await asyncio.gather(*(loop.run_in_executor(self._pool, os.getpid) for _ in range(self.workers)))
        await asyncio.to_thread(self._wait_until_warm)

    async def render(self, document: PrintableDocument) -> bytes:
        loop = asyncio.get_running_loop()
        for _ in range(2):
            pool = self._pool
            try:
                return await loop.run_in_executor(pool, render_pdf, document)
            except BrokenProcessPool:
                self._replace(pool)
        raise RenderFailed(f"The PDF of {document.ref} could not be made: the process rendering it stopped "
                           f"twice. Please try again; if it happens again, tell your administrator.")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def _new_pool(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context(POOL_START_METHOD)
        self._warm = context.Semaphore(0)  # released by each worker once warm
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker, initargs=(self._warm,))

    def _wait_until_warm(self) -> None:
        for _ in range(self.workers):
            if not self._warm.acquire(timeout=WARM_UP_TIMEOUT):
                raise RenderFailed(f"The PDF renderer did not start within {WARM_UP_TIMEOUT} seconds.")

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self._pool is broken:  # the documents in flight all see the same broken pool: replace it once
            self._pool = self._new_pool()
            broken.shutdown(wait=False, cancel_futures=True)
