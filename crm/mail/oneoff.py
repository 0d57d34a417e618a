"""One-off emails (SPEC §7): a rep writes to one of a third party's contacts, or to the third
party's own address, from a template, with a document's PDF attached if they choose.

The email goes `From` the rep's name at MAIL_FROM's address with `Reply-To: MAIL_FROM`, the
mailbox the IMAP listener reads, so replies land on the timeline. Once the server has taken
it, an `EMAIL_SENT` event and a SentEmail row (replies are matched by its Message-ID) are
written together; an email the server did not take records nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from crm import agenda, company, contacts, records, thirdparties
from crm.context import Context
from crm.documents import printing, service
from crm.documents.pdf import PdfRenderer
from crm.errors import DomainError, NotFound, ValidationError
from crm.filestore import FileStore
from crm.mail import templates, unsubscribe
from crm.mail.compose import Attachment, Draft, Mailbox, ascii_address, compose
from crm.mail.templates import Rendered, TemplateRecord
from crm.mail.transport import OutcomeUnknown, PermanentFailure, SendFailure, open_transport
from crm.permissions import require_writer
from crm.records import ContactRecord, DocumentRecord, ThirdPartyRecord
from models import Document, SentEmail

THIRDPARTY = "thirdparty"  # the recipient key of the third party's own address
DEFAULT_TEMPLATE = "thirdparty"  # the default template of the "thirdparty" type


class NotSent(DomainError):
    """The mail server did not take the email (or may not have): its answer, in words."""


@dataclass(frozen=True)
class Recipient:
    key: str  # THIRDPARTY, or "contact:ID"
    name: str
    address: str
    contact: ContactRecord | None


@dataclass(frozen=True)
class MailForm:
    """What the email form offers for one third party."""

    thirdparty: ThirdPartyRecord
    recipients: list[Recipient]
    templates: list[str]
    documents: list[DocumentRecord]


@dataclass(frozen=True)
class Letter:
    """An email ready to go: to whom, from which template, with which document, as rendered."""

    thirdparty: ThirdPartyRecord
    recipient: Recipient
    template: TemplateRecord
    document: DocumentRecord | None
    rendered: Rendered


@dataclass(frozen=True)
class SentRecord:
    message_id: str
    address: str
    subject: str
    answer: str  # the server's, or where the outbox wrote it


async def form(ctx: Context, thirdparty_id: int) -> MailForm:
    """The choices of the email form: who has an address, the templates, the newest documents."""
    require_writer(ctx.actor, "send emails")
    thirdparty = await thirdparties.get(ctx, thirdparty_id)
    recipients = await _recipients(thirdparty)
    if not recipients:
        raise ValidationError("to", f"Neither {thirdparty.name} nor its contacts have an email address: "
                                    f"add one first.")
    return MailForm(thirdparty, recipients, await templates.names(),
                    await service.of_thirdparty(ctx, thirdparty))


async def _recipients(thirdparty: ThirdPartyRecord) -> list[Recipient]:
    people = [Recipient(f"contact:{c.id}", c.full_name, c.email, c)
              for c in await contacts.of_thirdparty(thirdparty.id) if c.email]
    own = [Recipient(THIRDPARTY, thirdparty.name, thirdparty.email, None)] if thirdparty.email else []
    return people + own


async def prepare(ctx: Context, thirdparty_id: int, *, to: str | None, template_name: str,
                  document_id: int | None, user_name: str) -> Letter:
    """The email as it would go, checked: the recipient and document are the third party's,
    the template exists and renders. Without `to`, the first recipient (for a preview)."""
    require_writer(ctx.actor, "send emails")
    thirdparty = await thirdparties.get(ctx, thirdparty_id)
    recipients = await _recipients(thirdparty)
    recipient = next((r for r in recipients if r.key == to), None) if to else next(iter(recipients), None)
    if recipient is None:
        raise ValidationError("to", "Choose who gets the email: this address is no longer on the record.")
    try:
        ascii_address(recipient.address)
    except ValidationError as error:
        raise ValidationError("to", error.message) from None
    document = await _document(thirdparty, document_id)
    languages = [recipient.contact.language if recipient.contact else "", thirdparty.language]
    try:
        template = await templates.pick(template_name, languages)
    except NotFound as error:
        raise ValidationError("template", str(error)) from None
    try:
        rendered = templates.render(template, templates.variables(
            thirdparty=thirdparty, contact=recipient.contact, document=document, user_name=user_name,
            company=await company.details(ctx),
            unsubscribe_url=unsubscribe.url(ctx.settings.public_url, ctx.settings.secret_key, recipient.address)))
    except ValidationError as error:
        raise ValidationError("template", f"The template {template.name} cannot be used: {error.message}") from None
    return Letter(thirdparty, recipient, template, document, rendered)


async def _document(thirdparty: ThirdPartyRecord, document_id: int | None) -> DocumentRecord | None:
    if document_id is None:
        return None
    row = await Document.get_or_none(id=document_id, thirdparty_id=thirdparty.id)
    if row is None:
        raise ValidationError("document", "This document is no longer one of this third party's.")
    return records.document(row)


async def document_attachment(ctx: Context, document: DocumentRecord, renderer: PdfRenderer) -> Attachment:
    """The document's PDF as it is now, to attach."""
    stored = await printing.make_pdf(ctx, document.id, renderer)
    return Attachment(stored.name, FileStore.for_settings(ctx.settings).read(stored.sha256), "application/pdf")


async def send(ctx: Context, letter: Letter, *, sender_name: str, attachment: Attachment | None = None) -> SentRecord:
    """Send `letter` through SMTP_URL (or the outbox) and record it once the server took it;
    NotSent with the server's answer otherwise, and nothing recorded."""
    require_writer(ctx.actor, "send emails")
    mail_from = Mailbox.parse(ctx.settings.mail_from)
    recipient, rendered = letter.recipient, letter.rendered
    draft = Draft(sender=Mailbox(mail_from.address, sender_name), to=Mailbox(recipient.address, recipient.name),
                  subject=rendered.subject, text=rendered.text, html=rendered.html or None, reply_to=mail_from,
                  attachments=(attachment,) if attachment else ())
    outgoing = compose(draft, envelope_from=ctx.settings.mail_from)
    transport = open_transport(ctx.settings.smtp_url, ctx.settings.data_dir)
    try:
        accepted = await transport.send(outgoing)
    except SendFailure as failure:
        raise NotSent(_failure_words(failure)) from None
    finally:
        await transport.close()
    await _record(ctx, letter, outgoing.message_id)
    return SentRecord(outgoing.message_id, recipient.address, rendered.subject, accepted.answer)


def _failure_words(failure: SendFailure) -> str:
    if isinstance(failure, OutcomeUnknown):
        return (f"The connection to the mail server was lost while sending ({failure.answer}): the email may "
                f"have gone. Check with the recipient before sending it again.")
    if isinstance(failure, PermanentFailure):
        return f"The mail server refused the email: {failure.answer}. Nothing was sent."
    return f"The mail server could not take the email just now: {failure.answer}. Nothing was sent; try again later."


async def _record(ctx: Context, letter: Letter, message_id: str) -> None:
    contact_id = letter.recipient.contact.id if letter.recipient.contact else None
    document_id = letter.document.id if letter.document else None
    async with ctx.transaction() as uow:
        await agenda.record(
            uow, "EMAIL_SENT", ctx.actor, letter.thirdparty.id,
            f"Email to {letter.recipient.address}: {letter.rendered.subject}",
            contact_id=contact_id, document_id=document_id,
            details={"message_id": message_id, "subject": letter.rendered.subject, "to": letter.recipient.address,
                     "template": letter.template.name})
        await SentEmail.create(message_id=message_id, thirdparty_id=letter.thirdparty.id, contact_id=contact_id,
                               document_id=document_id, address=letter.recipient.address,
                               subject=letter.rendered.subject, sent_by=ctx.actor.id, sent_at=uow.now,
                               using_db=uow.connection)
