"""The App Home tab and the small forms its buttons open: pure functions, data in, dicts out.

The Home lists at most crm.home.FEW records of each section with the section's count and a way
to see the rest, so it holds a bounded number of blocks (far below Slack's 100) whatever the
portfolio. Names are user text: plain_text where they stand alone, escaped where they share a
line with our markup (dates).
"""
from __future__ import annotations

from datetime import datetime

from bot import cards, thirdparty_picker as picker
from bot.blocks import (
    actions, button, context, divider, escape, fields_sections, header, input_block, markup_field, modal,
    plain_section, section, text_input, when,
)
from bot.document_views import amount
from crm.home import Due, Home, Month, OpenDocuments, Portfolio
from crm.search import MAX_TEXT as MAX_SEARCH
from crm.stats import win_rate
from crm.timeline import KINDS, PlannedEvent

NEW_THIRDPARTY = "home_new_thirdparty"
NEW_QUOTE = "home_new_quote"
SEARCH = "home_search"
HELP = "home_help"
SHOW = "home_show"
SEE_ALL = "home_list"  # a section's "See all": runs `/crm list` with the filter it carries
OPEN_DOCUMENT = "home_document"
QUOTE_FORM = "home_quote_form"
SEARCH_FORM = "home_search_form"
SEARCH_BLOCK = "text"

# Each section: its title, and the `/crm list` filter that shows all of it.
PORTFOLIOS = (("Prospects", "rep:me type:prospect status:active"),
              ("Customers", "rep:me type:customer status:active"))
WELCOME_LINES = (
    "Keep your prospects and customers, their contacts and everything that happens with them, in Slack.",
    "Make quotes, orders and invoices, send them as PDFs or emails, and follow who owes what.",
    "Type `/crm` in any conversation; this Home shows your own portfolio once you have one.",
)
IMPORT_HOW = ("*Import a CSV* — an admin runs `crm import thirdparties FILE.csv` on the server: the columns "
              "`/crm export` writes, or Dolibarr's third-party export; `--dry-run` checks the file first.")


def quick_buttons(can_write: bool) -> dict:
    """New third party and New quote for those who may write; Search and help for everyone."""
    elements = [button("New third party", NEW_THIRDPARTY, style="primary"), button("New quote", NEW_QUOTE)] \
        if can_write else []
    return actions(*elements, button("Search", SEARCH), button("Help", HELP), block_id="home_quick")


def home_view(data: Home, now: datetime, *, can_write: bool) -> dict:
    """The Home of someone with a portfolio."""
    blocks = [header("Your CRM"), quick_buttons(can_write)]
    for (title, filter_text), portfolio in zip(PORTFOLIOS, (data.prospects, data.customers)):
        blocks += [divider(), *_portfolio(title, filter_text, portfolio)]
    blocks += [divider(), *_documents("Open proposals", "excl. tax", "valid until", data.proposals),
               divider(), *_documents("Unpaid invoices", "left to pay", "due", data.invoices),
               divider(), _upcoming(data.upcoming),
               divider(), *_month(data.month),
               context(f"Updated {when(now)}. Leave the tab and come back to refresh it.")]
    return {"type": "home", "blocks": blocks}


def welcome_view(can_write: bool) -> dict:
    """The Home of a newcomer: what the app does, and the first steps."""
    blocks = [header("Welcome to the CRM"), section("\n".join(WELCOME_LINES)), divider(),
              section("*First steps*")]
    if can_write:
        blocks.append(section("*Create your first third party* — a prospect or a customer, with its contacts.",
                              accessory=button("New third party", NEW_THIRDPARTY, style="primary")))
        blocks.append(section(IMPORT_HOW))
    else:
        blocks.append(section("Your role is read-only: you can search and open every record, but not change "
                              "them. Ask an admin if you need more."))
    blocks.append(section("*See what `/crm` can do* — every command, with an example.",
                          accessory=button("Help", HELP)))
    blocks.append(quick_buttons(can_write))
    return {"type": "home", "blocks": blocks}


def _portfolio(title: str, filter_text: str, portfolio: Portfolio) -> list[dict]:
    if not portfolio.count:
        return [section(f"*{title}* · none yet")]
    blocks = [section(f"*{title}* · {portfolio.count:,} active",
                      accessory=button("See all", SEE_ALL, filter_text))]
    for tp in portfolio.recent:
        blocks.append(plain_section(cards.record_line(tp), accessory=button("Show", SHOW, str(tp.id))))
    return blocks


def _documents(title: str, worth: str, due_word: str, open_documents: OpenDocuments) -> list[dict]:
    if not open_documents.count:
        return [section(f"*{title}* · none")]
    totals = ", ".join(amount(total, currency) for currency, total in open_documents.totals.items())
    blocks = [section(f"*{title}* · {open_documents.count:,} · {totals} {worth}")]
    if open_documents.count > len(open_documents.nearest):
        blocks.append(context("The soonest due are below; `/crm doc DOCREF` shows any document."))
    for due in open_documents.nearest:
        blocks.append(section(_due_line(due, due_word), accessory=button("Open", OPEN_DOCUMENT, str(due.document.id))))
    return blocks


def _due_line(due: Due, due_word: str) -> str:
    document = due.document
    when_due = f" · {due_word} {due.due_on.isoformat()}" if due.due_on else ""
    return (f"*{escape(document.title)}* · {escape(due.thirdparty_name) or '–'} · "
            f"{amount(due.amount, document.currency)}{when_due}")


def _upcoming(events: list[PlannedEvent]) -> dict:
    if not events:
        return section("*Your next events* · none planned. Plan a call, meeting or task from a third party's card.")
    lines = [f"• {when(e.starts_at)} · {KINDS.get(e.kind, e.kind)}: {escape(e.title)} · {escape(e.thirdparty_name)}"
             for e in events]
    return section("*Your next events*\n" + "\n".join(lines))


def _month(month: Month) -> list[dict]:
    mine, currency = month.figures, month.currency
    rate = win_rate(mine.signed, mine.refused)
    return [section(f"*This month* · {month.label}"), *fields_sections([
        markup_field("Proposals", f"{mine.proposals} · {amount(mine.proposals_amount, currency)}"),
        markup_field("Signed", f"{mine.signed} · {amount(mine.signed_amount, currency)}"),
        markup_field("Win rate", f"{rate:.0%}" if rate is not None else "–"),
        markup_field("Invoiced", amount(mine.invoices_amount, currency)),
        markup_field("Margin", amount(mine.margin, currency)),
        markup_field("Events", str(mine.events)),
    ]), context("Excluding tax. `/crm stats` gives any period, with a chart.")]


def quote_form() -> dict:
    """New quote from the Home: first the third party, found as `/crm search` finds it."""
    return modal("New quote", [picker.field("For", hint="The quote opens in its editor, as /crm quote does.")],
                 callback_id=QUOTE_FORM, submit="Next")


def search_form() -> dict:
    return modal("Search", [input_block(SEARCH_BLOCK, "Find", text_input(
        max_length=MAX_SEARCH, placeholder="A name, code, email, phone, town or contact"), optional=False)],
                 callback_id=SEARCH_FORM, submit="Search")


def searched_text(state: dict) -> str:
    return str(((state.get(SEARCH_BLOCK) or {}).get("value") or {}).get("value") or "").strip()


def message_modal(title: str, message: dict) -> dict:
    """A message (a card, a list, search results) shown in a modal: what the Home's buttons open,
    the Home having no conversation to answer in."""
    return modal(title, message["blocks"], callback_id="home_shown", submit=None, close="Done")
