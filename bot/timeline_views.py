"""Timeline views, pure functions of their data: the timeline message (a page of events, a filter
by event type, Older and Newer buttons that replace it), and the forms that add to it: a note,
a note's edit, a call/meeting/task, a Slack message logged to a customer.

Notes, labels and titles are people's text: escaped wherever they sit in mrkdwn beside our own
markup (dates, mentions), so `<!channel>` in a note is shown, never broadcast.
"""
from __future__ import annotations

import json

from bot import thirdparty_picker as picker
from bot.blocks import (
    actions, button, clip, context, escape, header, input_block, message, modal, option, plain, plain_section,
    section, text_input, user_mention, when,
)
from bot.payloads import Stale, record_id
from crm.errors import ValidationError
from crm.records import ContactRecord, ThirdPartyRecord
from crm.timeline import (
    GROUPS, KINDS, MAX_DURATION, MAX_NOTE, MAX_TITLE, PlannedEvent, TimelineEvent, TimelinePage,
)

SHOW = "timeline_show"  # a button naming a third party: its timeline
OLDER, NEWER = "timeline_older", "timeline_newer"  # the page buttons
FILTER = "timeline_filter"
MENU = "timeline_menu"  # the record card's menu: Add note, Log activity
NOTE_EDIT = "note_edit"  # a note's Edit button, and the form it opens
NOTE_NEW = "note_new"
ACTIVITY_NEW = "activity_new"
ACTIVITY_DONE = "activity_done"
LOG_MESSAGE = "log_to_customer"  # the message shortcut, and its form
EVERYTHING = "all"
NOTE_SHOWN = 600  # characters of a note the timeline shows; its Edit form has all of it
MAX_CONTACT_OPTIONS = 100  # Slack's limit for a static select


def timeline_message(thirdparty: ThirdPartyRecord, page: TimelinePage, group: str, *, user_id: str,
                     can_write: bool) -> dict:
    """A page of a third party's timeline for the person asking (ephemeral): the filter, the
    events, and Older/Newer buttons; the author of a note gets its Edit button, a writer the
    Done button of a planned call, meeting or task."""
    blocks = [header(f"Timeline · {thirdparty.name}"),
              context(f"{escape(thirdparty.code)} · newest first"),
              actions(_filter_menu(thirdparty.id, group), block_id=f"timeline:{thirdparty.id}")]
    if not page.events:
        blocks.append(plain_section("No events of this type yet." if group != EVERYTHING else "No events yet."))
    for event in page.events:
        blocks.append(section(_event_text(event), _event_button(event, user_id, can_write)))
    pager = [button(text, action_id, f"{thirdparty.id}:{group}:{cursor}")
             for text, action_id, cursor in (("Newer", NEWER, page.newer), ("Older", OLDER, page.older)) if cursor]
    if pager:
        blocks.append(actions(*pager, block_id=f"timeline_pages:{thirdparty.id}"))
    return message(f"Timeline of {thirdparty.name} ({thirdparty.code})", blocks)


def _filter_menu(thirdparty_id: int, group: str) -> dict:
    choices = [option("All events", f"{thirdparty_id}:{EVERYTHING}")] + [
        option(label, f"{thirdparty_id}:{key}") for key, (label, _) in GROUPS.items()]
    chosen = next(o for o in choices if o["value"].endswith(f":{group}"))
    return {"type": "static_select", "action_id": FILTER, "placeholder": plain("Event type"),
            "options": choices, "initial_option": chosen}


def _event_text(event: TimelineEvent) -> str:
    label = "" if event.code == "NOTE_ADD" else f" {escape(event.label)}"  # a note's label is its first line
    lines = [f"{when(event.occurred_at)} · {user_mention(event.user_id)} · `{event.code}`{label}"]
    linked = [f"Contact: {escape(event.contact_name)}" if event.contact_name else "",
              f"Document: {escape(event.document_title)}" if event.document_title else ""]
    if event.starts_at:
        duration = f" for {event.duration_minutes} min" if event.duration_minutes else ""
        done = f" · done {when(event.done_at)}" if event.done_at else ""
        linked.insert(0, f"Planned {when(event.starts_at)}{duration}{done}")
    if any(linked):
        lines.append(" · ".join(part for part in linked if part))
    if event.note and event.code in ("NOTE_ADD", "MANUAL"):
        lines.append(escape(clip(event.note, NOTE_SHOWN)))
    source = event.details.get("source") or {}
    if _is_link(source.get("permalink")):
        author = f" by {user_mention(source['author'])}" if source.get("author") else ""
        lines.append(f"<{source['permalink']}|From a Slack message>{author}")
    if event.edited_at:
        lines.append(f"_edited {when(event.edited_at)}_")
    return "\n".join(lines)


def _is_link(url) -> bool:
    """A permalink Slack gave, safe inside `<url|text>`."""
    return isinstance(url, str) and url.startswith("https://") and not any(c in url for c in "<>| ")


def _event_button(event: TimelineEvent, user_id: str, can_write: bool) -> dict | None:
    if not can_write:
        return None
    if event.code == "NOTE_ADD" and event.user_id == user_id:
        return button("Edit", NOTE_EDIT, str(event.id))
    if event.code == "MANUAL" and event.starts_at and not event.done_at:
        return button("Done", ACTIVITY_DONE, f"{event.id}:{event.thirdparty_id}")
    return None


def read_done_value(value: str) -> tuple[int, int]:
    """A Done button's value: the event, and the third party whose timeline it is on."""
    event, _, thirdparty = str(value).partition(":")
    return record_id(event), record_id(thirdparty)


def read_page_value(value: str) -> tuple[int, str, int | None]:
    """An Older/Newer button's value (third party, group, cursor) or a filter option's (no cursor)."""
    parts = str(value).split(":")
    if len(parts) not in (2, 3) or parts[1] not in (EVERYTHING, *GROUPS):
        raise Stale(str(value)[:40])
    return record_id(parts[0]), parts[1], record_id(parts[2]) if len(parts) == 3 else None


def card_entries(thirdparty_id: int, can_write: bool) -> list[dict]:
    """The record card's timeline entries: its button, and for writers a menu to add a note or
    log a call, meeting or task."""
    entries = [button("Timeline", SHOW, str(thirdparty_id))]
    if can_write:
        entries.append({"type": "static_select", "action_id": MENU, "placeholder": plain("Add note or activity"),
                        "options": [option("Add note", f"note:{thirdparty_id}"),
                                    option("Log call, meeting or task", f"activity:{thirdparty_id}")]})
    return entries


def read_menu_value(value: str) -> tuple[str, int]:
    what, _, thirdparty = str(value).partition(":")
    if what not in ("note", "activity"):
        raise Stale(str(value)[:40])
    return what, record_id(thirdparty)


def _contact_menu(contacts: list[ContactRecord]) -> list[dict]:
    if not contacts:
        return []
    menu = {"type": "static_select", "placeholder": plain("Choose a contact"),
            "options": [option(c.full_name, str(c.id)) for c in contacts[:MAX_CONTACT_OPTIONS]]}
    return [input_block("contact", "Contact", menu)]


def _note_input(initial: str = "") -> dict:
    return input_block("text", "Note", text_input(clip(initial, MAX_NOTE), multiline=True, max_length=MAX_NOTE),
                       optional=False)


def note_modal(thirdparty: ThirdPartyRecord, contacts: list[ContactRecord]) -> dict:
    blocks = [plain_section(f"On the timeline of {thirdparty.name} ({thirdparty.code})"), _note_input(),
              *_contact_menu(contacts)]
    return modal("Add note", blocks, callback_id=NOTE_NEW, private_metadata=str(thirdparty.id))


def edit_note_modal(event_id: int, text: str, timeline_url: str | None) -> dict:
    """A note's text to change; `timeline_url` is where the timeline it was opened from is."""
    metadata = json.dumps({"note": event_id, "timeline": timeline_url or ""})
    return modal("Edit note", [_note_input(text)], callback_id=NOTE_EDIT, private_metadata=metadata)


def read_edit_note_metadata(view: dict) -> tuple[int, str]:
    try:
        metadata = json.loads(view.get("private_metadata") or "")
        return record_id(metadata["note"]), str(metadata["timeline"])
    except (ValueError, KeyError, TypeError):
        raise Stale("note form") from None


def activity_modal(thirdparty: ThirdPartyRecord, contacts: list[ContactRecord]) -> dict:
    """Log a call, meeting or task: kind, title, when and for how long, with whom, a note."""
    kinds = {"type": "static_select", "options": [option(label, kind) for kind, label in KINDS.items()],
             "initial_option": option(KINDS["call"], "call")}
    duration = {"type": "number_input", "is_decimal_allowed": False, "min_value": "1",
                "max_value": str(MAX_DURATION)}
    blocks = [
        plain_section(f"On the timeline of {thirdparty.name} ({thirdparty.code})"),
        input_block("kind", "Kind", kinds, optional=False),
        input_block("title", "Title", text_input(max_length=MAX_TITLE, placeholder="Call about the renewal"),
                    optional=False),
        input_block("starts_at", "When", {"type": "datetimepicker"},
                    hint="A time to come: you get a reminder in Slack 15 minutes before."),
        input_block("duration", "Duration in minutes", duration),
        *_contact_menu(contacts),
        input_block("note", "Note", text_input(multiline=True, max_length=MAX_NOTE)),
    ]
    return modal("Log activity", blocks, callback_id=ACTIVITY_NEW, private_metadata=str(thirdparty.id))


def read_duration(state: dict) -> int | None:
    typed = ((state.get("duration") or {}).get("value") or {}).get("value")
    if not typed:
        return None
    try:
        return int(typed)
    except ValueError:
        raise ValidationError("duration", "The duration is a whole number of minutes, e.g. 30.") from None


def log_message_modal(text: str, source: dict) -> dict:
    """"Log to customer": the third party to choose, the message's text to keep as typed or
    shorten; `source` (its permalink, author, channel and time) goes with the note."""
    blocks = [picker.field("Customer"), _note_input(text),
              context("The note links back to the message.")]
    return modal("Log to customer", blocks, callback_id=LOG_MESSAGE, private_metadata=json.dumps(source))


def read_log_message_form(view: dict) -> tuple[int, dict]:
    """The chosen third party's id and the message's source."""
    try:
        source = json.loads(view.get("private_metadata") or "")
    except ValueError:
        raise Stale("log form") from None
    return picker.chosen(view, "Choose the customer this message is about."), source


def noted_message(thirdparty: ThirdPartyRecord) -> dict:
    text = f"Note added to the timeline of {thirdparty.name} ({thirdparty.code})."
    return message(text, [plain_section(text, accessory=button("Timeline", SHOW, str(thirdparty.id)))])


def reminder_message(planned: PlannedEvent) -> dict:
    """The DM 15 minutes before a planned call, meeting or task, with a button to its third party."""
    duration = f" for {planned.duration_minutes} min" if planned.duration_minutes else ""
    text = f"{KINDS.get(planned.kind, 'Task')} “{planned.title}” with {planned.thirdparty_name}"
    return message(f"Soon: {text}", [
        section(f"\u23f0 *{escape(text)}* ({escape(planned.thirdparty_code)})\n"
                f"{when(planned.starts_at)}{duration}",
                accessory=button("Open", "thirdparty_show", str(planned.thirdparty_id))),
    ])
