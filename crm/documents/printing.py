"""A document's PDF: what it is made from (plain data for the render processes), and making it.

The recipient is the billing contact on invoices and the customer contact on the other
types, falling back to the third party itself; labels follow the third party's language.
"""
from __future__ import annotations

from crm import company, contacts
from crm.context import Context
from crm.documents import service
from crm.documents.pdf import PdfRenderer
from crm.documents.printable import Party, PrintableDocument, PrintableLine
from crm.filestore import FileStore, StoredFile
from models import Document, User

RECIPIENT_ROLE = {"invoice": "billing", "proposal": "customer", "order": "customer", "intervention": "customer"}


async def printable(ctx: Context, document_id: int) -> PrintableDocument:
    view = await service.view(ctx, document_id)
    document, thirdparty = view.document, view.thirdparty
    contact = next(iter(view.contacts[RECIPIENT_ROLE[document.type]]), None)
    address = contacts.postal_address(contact, thirdparty) if contact else {
        name: getattr(thirdparty, name) for name in contacts.ADDRESS_FIELDS}
    recipient = Party(name=thirdparty.name, **address, vat_id=thirdparty.vat_id,
                      attention=contact.full_name if contact else "")
    rep = await User.get_or_none(id=document.rep_id) if document.rep_id else None
    origin = view.origin.display_ref if view.origin else ""
    return PrintableDocument(
        type=document.type, ref=document.display_ref, status=document.status, language=thirdparty.language,
        currency=document.currency, issued_on=document.issued_on, company=await company.details(ctx),
        recipient=recipient, rep_name=(rep.name or rep.id) if rep else "",
        lines=tuple(PrintableLine(line.label, line.description, line.quantity, line.unit, line.unit_price,
                                  line.discount_percent, line.vat_rate, line.total_excl_tax, line.total_vat)
                    for line in view.lines),
        totals=view.totals, valid_until=document.valid_until, due_on=document.due_on,
        intervention_on=document.intervention_on, intervention_minutes=document.intervention_minutes,
        paid=view.paid, note_public=document.note_public, description_html=document.description_html,
        origin_ref=origin)


async def make_pdf(ctx: Context, document_id: int, renderer: PdfRenderer) -> StoredFile:
    """Render the document as it is now, keep the PDF in the file store and on the document."""
    document = await printable(ctx, document_id)
    data = await renderer.render(document)
    stored = FileStore.for_settings(ctx.settings).put(data, f"{document.ref.strip('()')}.pdf")
    await Document.filter(id=document_id).update(pdf_sha256=stored.sha256, pdf_name=stored.name,
                                                 pdf_made_at=ctx.now())
    return stored
