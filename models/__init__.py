"""Tortoise ORM models: the data and its relations, nothing else.

The rules that keep these rows consistent live in the `crm` package.
"""
from tortoise import fields
from tortoise.models import Model

APP = "crm"

THIRDPARTY_TYPES = ("prospect", "customer", "both")
STATUSES = ("active", "closed")
CUSTOM_FIELD_TARGETS = ("thirdparty", "contact")


# Times are set by the domain from its one clock (crm.clock), never by the ORM's own.
class Timestamped(Model):
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    created_by = fields.CharField(max_length=32, default="system")
    updated_by = fields.CharField(max_length=32, default="system")

    class Meta:
        abstract = True


# A Slack user, known by ID. `role` is the stored role; admins come from CRM_ADMINS.
class User(Model):

    id = fields.CharField(max_length=32, primary_key=True)
    name = fields.CharField(max_length=255, default="")
    email = fields.CharField(max_length=255, null=True)
    tz = fields.CharField(max_length=64, null=True)
    locale = fields.CharField(max_length=35, null=True)  # Slack's, e.g. fr-FR: the language menus name things in
    role = fields.CharField(max_length=16, default="sales")
    is_guest = fields.BooleanField(default=False)
    refreshed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "crm_user"


class Tag(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "crm_tag"


class ThirdParty(Timestamped):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=255)
    # the folded name (crm.normalize.fold): REF lookup by exact name and by prefix
    name_fold = fields.CharField(max_length=255, default="", db_default="")
    # the folded name without legal forms: duplicate detection
    name_key = fields.CharField(max_length=255, db_index=True)
    alias = fields.CharField(max_length=255, default="")
    type = fields.CharField(max_length=16)
    status = fields.CharField(max_length=16, default="active")
    email = fields.CharField(max_length=255, default="")
    # lower-cased email: duplicate detection, import matching and `email:` filters use the index;
    # the database default lets migration 0002 add the column to a table that already has rows
    email_key = fields.CharField(max_length=255, default="", db_default="", db_index=True)
    phone = fields.CharField(max_length=64, default="")
    # the phone in E.164 (crm.phones), "" when it is not a number: duplicate detection
    phone_key = fields.CharField(max_length=32, default="", db_default="", db_index=True)
    website = fields.CharField(max_length=255, default="")
    address = fields.TextField(default="")
    zip = fields.CharField(max_length=32, default="")
    town = fields.CharField(max_length=128, default="")
    country = fields.CharField(max_length=2, default="")
    language = fields.CharField(max_length=16, default="")
    vat_id = fields.CharField(max_length=32, default="")
    # VAT id without spaces, dots or dashes, upper-cased: duplicate detection
    vat_key = fields.CharField(max_length=32, default="", db_index=True)
    note_public = fields.TextField(default="")
    note_private = fields.TextField(default="")
    # everything `/crm search` matches, normalised (own fields and contacts' names and emails)
    search_text = fields.TextField(default="")
    tags: fields.ManyToManyRelation[Tag] = fields.ManyToManyField(
        f"{APP}.Tag", related_name="thirdparties", through="crm_thirdparty_tag"
    )
    sales_reps: fields.ManyToManyRelation[User] = fields.ManyToManyField(
        f"{APP}.User", related_name="thirdparties", through="crm_thirdparty_rep"
    )

    class Meta:
        table = "crm_thirdparty"


class Contact(Timestamped):
    id = fields.IntField(primary_key=True)
    thirdparty: fields.ForeignKeyRelation[ThirdParty] = fields.ForeignKeyField(
        f"{APP}.ThirdParty", related_name="contacts", on_delete=fields.CASCADE
    )
    first_name = fields.CharField(max_length=128, default="")
    last_name = fields.CharField(max_length=128, default="")
    job_title = fields.CharField(max_length=128, default="")
    email = fields.CharField(max_length=255, default="", db_index=True)
    phone = fields.CharField(max_length=64, default="")
    address = fields.TextField(default="")
    zip = fields.CharField(max_length=32, default="")
    town = fields.CharField(max_length=128, default="")
    country = fields.CharField(max_length=2, default="")
    language = fields.CharField(max_length=16, default="")
    note = fields.TextField(default="")
    # roles (billing, shipping, customer) in which new documents of its third party get it
    # (comma-separated; the database default lets the migration add it to rows that exist)
    default_roles = fields.CharField(max_length=64, default="", db_default="")

    class Meta:
        table = "crm_contact"


# An admin-defined field of third parties or contacts.
class CustomField(Model):

    id = fields.IntField(primary_key=True)
    applies_to = fields.CharField(max_length=16)
    key = fields.CharField(max_length=32)
    label = fields.CharField(max_length=64)
    field_type = fields.CharField(max_length=16)
    required = fields.BooleanField(default=False)
    unique = fields.BooleanField(default=False)
    default = fields.TextField(null=True)
    options = fields.JSONField(default=list)
    position = fields.IntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "crm_custom_field"
        unique_together = (("applies_to", "key"),)


# One value of one custom field on one third party or contact, in canonical text form.
class CustomFieldValue(Model):

    id = fields.IntField(primary_key=True)
    field: fields.ForeignKeyRelation[CustomField] = fields.ForeignKeyField(
        f"{APP}.CustomField", related_name="values", on_delete=fields.CASCADE
    )
    thirdparty: fields.ForeignKeyNullableRelation[ThirdParty] = fields.ForeignKeyField(
        f"{APP}.ThirdParty", related_name="custom_values", null=True, on_delete=fields.CASCADE
    )
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        f"{APP}.Contact", related_name="custom_values", null=True, on_delete=fields.CASCADE
    )
    value = fields.TextField()
    # numbers (integer, amount) as numbers so filters compare them numerically
    number = fields.DecimalField(max_digits=30, decimal_places=6, null=True)
    # set only for unique fields: the database refuses a second record with the same value
    unique_value = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "crm_custom_value"
        unique_together = (("field", "thirdparty"), ("field", "contact"), ("field", "unique_value"))


class NumberingMask(Model):
    object_type = fields.CharField(max_length=32, primary_key=True)
    mask = fields.CharField(max_length=64)
    updated_at = fields.DatetimeField()
    updated_by = fields.CharField(max_length=32, default="system")

    class Meta:
        table = "crm_numbering_mask"


# The last value given for one object type and counter key (reset period, type letter).
class NumberingCounter(Model):

    id = fields.IntField(primary_key=True)
    object_type = fields.CharField(max_length=32)
    counter_key = fields.CharField(max_length=32)
    value = fields.IntField()

    class Meta:
        table = "crm_numbering_counter"
        unique_together = (("object_type", "counter_key"),)


# An agenda event (SPEC §10), written in the transaction of the change it records.
class Event(Model):

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32)
    occurred_at = fields.DatetimeField(db_index=True)
    user_id = fields.CharField(max_length=32)
    thirdparty: fields.ForeignKeyNullableRelation[ThirdParty] = fields.ForeignKeyField(
        f"{APP}.ThirdParty", related_name="events", null=True, on_delete=fields.CASCADE
    )
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        f"{APP}.Contact", related_name="events", null=True, on_delete=fields.SET_NULL
    )
    document: fields.ForeignKeyNullableRelation["Document"] = fields.ForeignKeyField(
        f"{APP}.Document", related_name="events", null=True, on_delete=fields.SET_NULL
    )
    label = fields.CharField(max_length=255)
    details = fields.JSONField(default=dict)
    # a call, meeting or task (MANUAL) planned for a time: when, for how long, when it was done,
    # and when its user was reminded of it (15 minutes before)
    starts_at = fields.DatetimeField(null=True)
    duration_minutes = fields.IntField(null=True)
    done_at = fields.DatetimeField(null=True)
    reminded_at = fields.DatetimeField(null=True)
    edited_at = fields.DatetimeField(null=True)  # a note changed by its author

    class Meta:
        table = "crm_event"
        indexes = (("document_id",), ("starts_at",))  # (thirdparty_id, occurred_at): migration 0003


# Something a person asked for that must happen once, whatever the clicks: a creation waiting
# behind a "Create anyway" button (its token is the button's value), or a submitted form
# (keyed by its Slack view). `result_id` is the record it made, once made.
class PendingAction(Model):

    token = fields.CharField(max_length=64, primary_key=True)
    kind = fields.CharField(max_length=32)
    actor_id = fields.CharField(max_length=32)
    payload = fields.JSONField(default=dict)
    result_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "crm_pending_action"


# Work that runs once per due time whichever process runs it, and a process's hold on work
# that only one may do at a time (a mailbox): claimed by a conditional update (crm.jobs).
class ScheduledJob(Model):

    name = fields.CharField(max_length=64, primary_key=True)
    due_at = fields.DatetimeField()
    holder = fields.CharField(max_length=128, default="")  # the process running it now
    held_until = fields.DatetimeField(null=True)  # past this, another process may take it over
    last_started_at = fields.DatetimeField(null=True)
    last_finished_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")

    class Meta:
        table = "crm_job"


# A product or service of the catalogue, which document lines pick with its prices.
class Product(Timestamped):
    id = fields.IntField(primary_key=True)
    ref = fields.CharField(max_length=64, unique=True)
    label = fields.CharField(max_length=255)
    # the folded ref and label (crm.normalize.fold): the catalogue's search
    search_text = fields.CharField(max_length=400, default="")
    description = fields.TextField(default="")
    unit_price = fields.DecimalField(max_digits=24, decimal_places=6)  # excluding tax
    vat_rate = fields.DecimalField(max_digits=6, decimal_places=3)  # percent
    cost_price = fields.DecimalField(max_digits=24, decimal_places=6, default=0)  # for margins
    unit = fields.CharField(max_length=32, default="")
    active = fields.BooleanField(default=True)

    class Meta:
        table = "crm_product"


DOCUMENT_TYPES = ("proposal", "order", "intervention", "invoice")
DOCUMENT_CONTACT_ROLES = ("billing", "shipping", "customer")


# A commercial document: a proposal, a sales order, an intervention or an invoice.
# Its ref is given at validation (a draft has none); its totals are the sums of its lines'
# rounded figures (crm.money), kept here for lists and figures.
class Document(Timestamped):
    id = fields.IntField(primary_key=True)
    type = fields.CharField(max_length=16)
    ref = fields.CharField(max_length=64, null=True, unique=True)
    status = fields.CharField(max_length=16, default="draft")
    # none once its third party was erased (right to erasure): a validated document stays for
    # the books, with `billed_to`, what the books need of who it was for
    thirdparty: fields.ForeignKeyNullableRelation[ThirdParty] = fields.ForeignKeyField(
        f"{APP}.ThirdParty", related_name="documents", null=True, on_delete=fields.CASCADE
    )
    billed_to = fields.JSONField(null=True)
    # the sales rep it counts for (SPEC §9)
    rep: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        f"{APP}.User", related_name="documents", null=True, on_delete=fields.SET_NULL
    )
    # the proposal or order it was made from; its children are `derived`
    origin: fields.ForeignKeyNullableRelation["Document"] = fields.ForeignKeyField(
        f"{APP}.Document", related_name="derived", null=True, on_delete=fields.SET_NULL
    )
    currency = fields.CharField(max_length=3)
    issued_on = fields.DateField()
    valid_until = fields.DateField(null=True)  # proposals
    due_on = fields.DateField(null=True)  # invoices
    intervention_on = fields.DateField(null=True)  # interventions
    intervention_minutes = fields.IntField(null=True)
    note_public = fields.TextField(default="")
    note_private = fields.TextField(default="")
    # the rich description as Slack's rich_text_input gave it (to edit it again) and as sanitized HTML (the PDF)
    description_rich = fields.JSONField(null=True)
    description_html = fields.TextField(default="")
    total_excl_tax = fields.DecimalField(max_digits=24, decimal_places=6, default=0)
    total_vat = fields.DecimalField(max_digits=24, decimal_places=6, default=0)
    total_incl_tax = fields.DecimalField(max_digits=24, decimal_places=6, default=0)
    validated_at = fields.DatetimeField(null=True, db_index=True)
    validated_by = fields.CharField(max_length=32, null=True)
    # the last PDF made of it, in the file store (crm.filestore)
    pdf_sha256 = fields.CharField(max_length=64, null=True)
    pdf_name = fields.CharField(max_length=255, null=True)
    pdf_made_at = fields.DatetimeField(null=True)

    class Meta:
        table = "crm_document"
        indexes = (("thirdparty_id", "type"), ("origin_id",), ("rep_id", "validated_at"))


class DocumentLine(Model):
    id = fields.IntField(primary_key=True)
    document: fields.ForeignKeyRelation[Document] = fields.ForeignKeyField(
        f"{APP}.Document", related_name="lines", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    product: fields.ForeignKeyNullableRelation[Product] = fields.ForeignKeyField(
        f"{APP}.Product", related_name="lines", null=True, on_delete=fields.SET_NULL
    )
    label = fields.CharField(max_length=255)
    description = fields.TextField(default="")
    quantity = fields.DecimalField(max_digits=24, decimal_places=6)
    unit = fields.CharField(max_length=32, default="")
    unit_price = fields.DecimalField(max_digits=24, decimal_places=6)  # excluding tax
    discount_percent = fields.DecimalField(max_digits=6, decimal_places=3, default=0)
    vat_rate = fields.DecimalField(max_digits=6, decimal_places=3)
    cost_price = fields.DecimalField(max_digits=24, decimal_places=6, default=0)  # copied from the product
    total_excl_tax = fields.DecimalField(max_digits=24, decimal_places=6)
    total_vat = fields.DecimalField(max_digits=24, decimal_places=6)

    class Meta:
        table = "crm_document_line"
        indexes = (("document_id", "position"),)


class Payment(Model):
    id = fields.IntField(primary_key=True)
    document: fields.ForeignKeyRelation[Document] = fields.ForeignKeyField(
        f"{APP}.Document", related_name="payments", on_delete=fields.CASCADE
    )
    paid_on = fields.DateField()
    amount = fields.DecimalField(max_digits=24, decimal_places=6)
    method = fields.CharField(max_length=32)
    created_at = fields.DatetimeField()
    created_by = fields.CharField(max_length=32)

    class Meta:
        table = "crm_payment"
        indexes = (("document_id",),)


# A contact of the document's third party in a role (billing, shipping, customer).
class DocumentContact(Model):
    id = fields.IntField(primary_key=True)
    document: fields.ForeignKeyRelation[Document] = fields.ForeignKeyField(
        f"{APP}.Document", related_name="contacts", on_delete=fields.CASCADE
    )
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        f"{APP}.Contact", related_name="documents", on_delete=fields.CASCADE
    )
    role = fields.CharField(max_length=16)

    class Meta:
        table = "crm_document_contact"
        unique_together = (("document", "role", "contact"),)


# Our own company as documents print it (one row, kept by admins in /crm settings).
class CompanyProfile(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255, default="")
    address = fields.TextField(default="")
    zip = fields.CharField(max_length=32, default="")
    town = fields.CharField(max_length=128, default="")
    country = fields.CharField(max_length=2, default="")
    vat_id = fields.CharField(max_length=32, default="")
    email = fields.CharField(max_length=255, default="")
    phone = fields.CharField(max_length=64, default="")
    logo_sha256 = fields.CharField(max_length=64, null=True)
    updated_at = fields.DatetimeField()
    updated_by = fields.CharField(max_length=32, default="system")

    class Meta:
        table = "crm_company"


# The code of a third party merged into another: it keeps resolving to the one that was kept.
class ThirdPartyAlias(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    thirdparty: fields.ForeignKeyRelation[ThirdParty] = fields.ForeignKeyField(
        f"{APP}.ThirdParty", related_name="aliases", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "crm_thirdparty_alias"


EMAIL_TEMPLATE_TYPES = ("thirdparty", "contact", "proposal", "order", "invoice", "intervention", "campaign")
CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "paused", "sent", "cancelled")
RECIPIENT_STATUSES = ("pending", "sent", "failed", "bounced", "skipped", "replied")


# An email template (SPEC §7), one per name and language; the one without a language is used
# where no other language matches.
class EmailTemplate(Timestamped):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    language = fields.CharField(max_length=16, default="")
    type = fields.CharField(max_length=16)
    subject = fields.TextField()
    html = fields.TextField()
    text = fields.TextField()

    class Meta:
        table = "crm_email_template"
        unique_together = (("name", "language"),)


# A mass mailing to the third parties a filter finds (SPEC §7).
class Campaign(Timestamped):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255)
    template_name = fields.CharField(max_length=64)
    target = fields.TextField(default="")  # the filter (SPEC §5)
    status = fields.CharField(max_length=16, default="draft", db_index=True)
    send_at = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # the campaign's message in its creator's conversation with the app, which shows progress
    progress_channel = fields.CharField(max_length=32, default="")
    progress_ts = fields.CharField(max_length=32, default="")
    progress_at = fields.DatetimeField(null=True)

    class Meta:
        table = "crm_campaign"
        indexes = (("status", "send_at"),)


# One address a campaign goes to, written when sending starts; workers claim them in batches.
class CampaignRecipient(Model):
    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        f"{APP}.Campaign", related_name="recipients", on_delete=fields.CASCADE
    )
    address = fields.CharField(max_length=255)  # lower-cased: one email per address
    thirdparty: fields.ForeignKeyNullableRelation[ThirdParty] = fields.ForeignKeyField(
        f"{APP}.ThirdParty", related_name="campaign_recipients", null=True, on_delete=fields.CASCADE
    )
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        f"{APP}.Contact", related_name="campaign_recipients", null=True, on_delete=fields.SET_NULL
    )
    language = fields.CharField(max_length=16, default="")
    status = fields.CharField(max_length=16, default="pending")
    reason = fields.TextField(default="")  # why skipped, or the server's answer
    message_id = fields.CharField(max_length=255, default="", db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=128, default="")
    claimed_until = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "crm_campaign_recipient"
        unique_together = (("campaign", "address"),)
        indexes = (("campaign_id", "status"), ("thirdparty_id",))


# An address that asked for no more campaigns (one-off emails from a rep still reach it).
class OptOut(Model):
    address = fields.CharField(max_length=255, primary_key=True)  # lower-cased
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "crm_opt_out"


# A one-off email sent from Slack: replies to it are matched by its Message-ID.
class SentEmail(Model):
    id = fields.IntField(primary_key=True)
    message_id = fields.CharField(max_length=255, unique=True)
    thirdparty: fields.ForeignKeyRelation[ThirdParty] = fields.ForeignKeyField(
        f"{APP}.ThirdParty", related_name="sent_emails", on_delete=fields.CASCADE
    )
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        f"{APP}.Contact", related_name="sent_emails", null=True, on_delete=fields.SET_NULL
    )
    document: fields.ForeignKeyNullableRelation[Document] = fields.ForeignKeyField(
        f"{APP}.Document", related_name="sent_emails", null=True, on_delete=fields.SET_NULL
    )
    address = fields.CharField(max_length=255)
    subject = fields.TextField()
    sent_by = fields.CharField(max_length=32)
    sent_at = fields.DatetimeField()

    class Meta:
        table = "crm_sent_email"
        indexes = (("thirdparty_id",),)


# Where the IMAP listener got to in a mailbox: the UIDs it has processed are those up to
# `last_uid`, as long as the server's UIDVALIDITY is still `uidvalidity`.
class Mailbox(Model):
    name = fields.CharField(max_length=255, primary_key=True)  # user@host:port/MAILBOX
    uidvalidity = fields.BigIntField(default=0)
    last_uid = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "crm_mailbox"


# What became of each incoming email, one row per Message-ID (so a replay or a new UIDVALIDITY
# logs nothing twice): logged on a timeline, unmatched (waiting for an admin to assign it),
# ignored, a bounce, rejected (unreadable), or failed (retried a few times, then left).
INBOUND_STATUSES = ("logged", "unmatched", "ignored", "bounce", "rejected", "failed")


class InboundEmail(Model):
    id = fields.IntField(primary_key=True)
    message_id = fields.CharField(max_length=255, unique=True)
    mailbox = fields.CharField(max_length=255)
    uidvalidity = fields.BigIntField()
    uid = fields.BigIntField()
    status = fields.CharField(max_length=16)
    reason = fields.TextField(default="")
    attempts = fields.IntField(default=1)
    next_attempt_at = fields.DatetimeField(null=True)
    thirdparty: fields.ForeignKeyNullableRelation[ThirdParty] = fields.ForeignKeyField(
        f"{APP}.ThirdParty", related_name="inbound_emails", null=True, on_delete=fields.CASCADE
    )
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        f"{APP}.Contact", related_name="inbound_emails", null=True, on_delete=fields.SET_NULL
    )
    document: fields.ForeignKeyNullableRelation[Document] = fields.ForeignKeyField(
        f"{APP}.Document", related_name="inbound_emails", null=True, on_delete=fields.SET_NULL
    )
    sender = fields.CharField(max_length=255, default="")
    sender_name = fields.CharField(max_length=255, default="")
    subject = fields.TextField(default="")
    excerpt = fields.TextField(default="")
    written_at = fields.DatetimeField(null=True)  # its Date header
    received_at = fields.DatetimeField()
    attachments = fields.JSONField(default=list)  # [{"sha256", "name", "size"}] in the file store
    assigned_by = fields.CharField(max_length=32, default="")  # the admin who assigned it by hand

    class Meta:
        table = "crm_inbound_email"
        indexes = (("thirdparty_id",), ("status", "received_at"))


# A file attached to a third party (from a Slack form or a file shared with the app), kept in
# the file store by its content (crm.filestore); its FILE_ADD event says who and when.
class ThirdPartyFile(Model):
    id = fields.IntField(primary_key=True)
    thirdparty: fields.ForeignKeyRelation[ThirdParty] = fields.ForeignKeyField(
        f"{APP}.ThirdParty", related_name="files", on_delete=fields.CASCADE
    )
    sha256 = fields.CharField(max_length=64)
    name = fields.CharField(max_length=255)
    size = fields.BigIntField()
    content_type = fields.CharField(max_length=128, default="application/octet-stream")
    added_by = fields.CharField(max_length=32)
    added_at = fields.DatetimeField()
    slack_file_id = fields.CharField(max_length=32, default="")  # the Slack file it came from, if any

    class Meta:
        table = "crm_file"
        indexes = (("thirdparty_id", "added_at"), ("sha256",))
