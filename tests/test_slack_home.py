"""The App Home tab through signed Slack events and clicks: `app_home_opened` publishes the
person's Home (views.publish), a welcome for a newcomer, their portfolio for a rep, no write
buttons for a read-only user, never more than Slack's 100 blocks; and each quick button."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from bot import forms, home_views
from bot.thirdparty_picker import ACTION_ID as THIRDPARTY_MENU, BLOCK as THIRDPARTY_BLOCK
from crm import clock, contacts, thirdparties, timeline
from crm.documents import service as documents
from models import Document, ThirdParty, User
from tests.conftest import ALICE, context, slack_user
from tests.slack_requests import modal
from tests.test_slack_documents import buttons, texts

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
HOME = {**modal(view_id="VHOME"), "type": "home"}  # the Home tab a click comes from


async def open_home(person, slack, tab: str = "home") -> dict:
    """The person opens the app's Home tab: the view published for them."""
    published = len(slack.calls_to("views.publish"))
    reply = await person.event({"type": "app_home_opened", "user": person.user_id, "channel": "D0HOME",
                                "tab": tab, "event_ts": "1772442000.000100"})
    assert reply.status == 200
    [*_, call] = await slack.wait_for("views.publish", published + 1)
    assert call.args["user_id"] == person.user_id
    return call.args["view"]


async def click(person, slack, action_id: str, value: str = "") -> dict:
    """A button of the Home pressed: the modal it opens (views.open)."""
    opened = len(slack.calls_to("views.open"))
    reply = await person.action(action_id, value, view=HOME)
    assert (reply.status, reply.text) == (200, "")
    [*_, call] = await slack.wait_for("views.open", opened + 1)
    return call.args["view"]


async def prospect(name: str, reps=(ALICE.id,), kind: str = "prospect"):
    return await thirdparties.create(context(), {"name": name, "type": kind}, sales_reps=list(reps))


async def validated(doc_type: str, thirdparty_id: int, price: str):
    """A validated document; it counts for the third party's first rep."""
    document = await documents.create(context(), doc_type, thirdparty_id)
    await documents.add_line(context(), document.id, {"label": "Work", "unit_price": price, "vat_rate": "20"})
    return await documents.apply_move(context(), document.id, "validate")


async def test_a_newcomer_is_welcomed_with_the_first_steps(alice, slack, db):
    await prospect("Someone Else's", reps=["U0OTHER"])
    view = await open_home(alice, slack)
    assert view["type"] == "home"
    assert view["blocks"][0]["text"]["text"] == "Welcome to the CRM"
    assert "crm import thirdparties" in texts(view) and "/crm" in texts(view)
    assert {home_views.NEW_THIRDPARTY, home_views.HELP, home_views.SEARCH} <= set(buttons(view))


async def test_the_messages_tab_publishes_nothing(alice, slack, db):
    reply = await alice.event({"type": "app_home_opened", "user": ALICE.id, "channel": "D0HOME", "tab": "messages"})
    assert reply.status == 200
    await open_home(alice, slack)  # the next Home opened is the first one published
    assert len(slack.calls_to("views.publish")) == 1


async def test_a_reps_home_counts_and_lists_their_portfolio(alice, slack, db):
    clock.freeze(START)
    older = await prospect("Older Prospect")
    for number in range(4):
        clock.freeze(START + timedelta(hours=number + 1))
        await prospect(f"Prospect {number}")
    customer = await prospect("Big Customer", kind="customer")
    clock.freeze(START + timedelta(days=1))
    await contacts.create(context(), older.id, {"first_name": "Ada", "email": "ada@older.example"})  # activity
    await validated("proposal", customer.id, "1000")
    await validated("proposal", older.id, "250.50")
    invoice = await validated("invoice", customer.id, "100")
    await documents.add_payment(context(), invoice.id, {"amount": "20", "method": "transfer"})
    await timeline.add_manual(context(), customer.id, "call", title="<!here> Budget", duration_minutes=15,
                              starts_at=START + timedelta(days=2))
    await timeline.add_manual(context(), customer.id, "task", title="Done long ago", duration_minutes=None,
                              starts_at=START - timedelta(days=2))
    await validated("proposal", (await prospect("Not Mine", reps=["U0OTHER"])).id, "999")  # U0OTHER's

    view = await open_home(alice, slack)
    shown = texts(view)
    assert "*Prospects* · 5 active" in shown and "*Customers* · 1 active" in shown
    names = [b["text"]["text"].split(" · ")[0] for b in view["blocks"]
             if b.get("accessory", {}).get("action_id") == home_views.SHOW]
    assert names == ["Older Prospect", "Prospect 3", "Prospect 2", "Big Customer"]  # most recently active first
    assert "Not Mine" not in shown
    assert "*Open proposals* · 2 · €1,250.50 excl. tax" in shown
    assert "*Unpaid invoices* · 1 · €100.00 left to pay" in shown  # 120.00 incl. tax, 20.00 paid
    assert [b["value"] for b in buttons(view)[home_views.SEE_ALL]] == [f for _, f in home_views.PORTFOLIOS]
    assert {home_views.NEW_THIRDPARTY, home_views.NEW_QUOTE, home_views.SEARCH} <= set(buttons(view))
    markup = mrkdwn_texts(view)
    [events] = [text for text in markup if text.startswith("*Your next events*")]
    # 2026-03-04 09:00 UTC, shown in each reader's own zone
    assert events.splitlines()[1].startswith("• <!date^1772614800^")
    assert events.endswith("Call: &lt;!here&gt; Budget · Big Customer") and "Done long ago" not in events
    assert "*This month* · 2026-03" in markup
    assert {"*Proposals*\n2 · €1,250.50", "*Invoiced*\n€100.00", "*Signed*\n0 · €0.00"} <= set(markup)


async def test_a_readonly_user_gets_no_write_buttons(http, server, slack, db):
    await User.create(id="U0READER", role="readonly", created_at=clock.now())
    slack.add_user("U0READER", name="reader")
    reader = slack_user(http, server, slack, "U0READER")
    welcome = await open_home(reader, slack)
    assert "read-only" in texts(welcome)
    await prospect("Read Only Corp", reps=["U0READER"])
    view = await open_home(reader, slack)
    offered = set(buttons(view))
    assert {home_views.SEARCH, home_views.SHOW} <= offered
    assert not offered & {home_views.NEW_THIRDPARTY, home_views.NEW_QUOTE}


async def test_a_portfolio_larger_than_a_home_stays_within_100_blocks(alice, slack, db):
    for number in range(60):
        tp = await prospect(f"Client {number:02d}", kind="both")
        if number < 12:
            await validated("proposal", tp.id, "10")
            await validated("invoice", tp.id, "10")
    view = await open_home(alice, slack)
    assert len(view["blocks"]) <= 100
    shown = texts(view)
    assert "*Prospects* · 60 active" in shown and "*Customers* · 60 active" in shown
    assert "*Open proposals* · 12 ·" in shown and "*Unpaid invoices* · 12 ·" in shown
    assert len(buttons(view)[home_views.OPEN_DOCUMENT]) == 6  # the three soonest due of each


async def test_a_broadcast_in_a_name_is_shown_not_sent(alice, slack, db):
    tp = await prospect("<!channel> *Loud* Ltd")
    await validated("proposal", tp.id, "10")
    view = await open_home(alice, slack)
    markup = " ".join(mrkdwn_texts(view))
    assert "<!channel>" not in markup
    assert "&lt;!channel&gt; ∗Loud∗ Ltd" in markup  # the proposal's line, mrkdwn: escaped
    assert "<!channel> *Loud* Ltd · " in texts(view)  # its record line, plain_text: as typed


def mrkdwn_texts(node) -> list[str]:
    """Every mrkdwn text of a view, the only ones Slack reads as markup."""
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for value in node.values() for t in mrkdwn_texts(value)]
    if isinstance(node, list):
        return [t for value in node for t in mrkdwn_texts(value)]
    return []


async def test_new_third_party_opens_the_create_form(alice, slack, db):
    view = await click(alice, slack, home_views.NEW_THIRDPARTY)
    assert view["callback_id"] == forms.THIRDPARTY_NEW


async def test_new_quote_picks_a_third_party_then_opens_the_draft(alice, slack, db):
    tp = await prospect("Quotable Industries")
    form = await click(alice, slack, home_views.NEW_QUOTE)
    reply = await alice.suggest(THIRDPARTY_MENU, "quotable", block_id=THIRDPARTY_BLOCK,
                                view={**modal(view_id="VQUOTE"), **form})
    [offered] = reply.json["options"]
    state = {THIRDPARTY_BLOCK: {THIRDPARTY_MENU: {"type": "external_select", "selected_option": offered}}}
    empty = await alice.submit(form["callback_id"], {THIRDPARTY_BLOCK: {THIRDPARTY_MENU: {
        "type": "external_select", "selected_option": None}}})
    assert empty.json["response_action"] == "errors"
    for _ in range(2):  # submitted twice: one draft
        answer = await alice.submit(form["callback_id"], state, view_id="VQUOTE")
        assert answer.json["response_action"] == "update"
    [draft] = await Document.filter(thirdparty_id=tp.id)
    assert (draft.type, draft.status) == ("proposal", "draft")
    assert str(draft.id) in answer.json["view"]["private_metadata"]


async def test_search_answers_in_the_form(alice, slack, db):
    await prospect("Findable Ltd")
    form = await click(alice, slack, home_views.SEARCH)
    blank = await alice.submit(form["callback_id"], {home_views.SEARCH_BLOCK: {"value": {
        "type": "plain_text_input", "value": None}}})
    assert blank.json["errors"] == {home_views.SEARCH_BLOCK: "Type what to look for."}
    answer = await alice.submit(form["callback_id"], {home_views.SEARCH_BLOCK: {"value": {
        "type": "plain_text_input", "value": "findable"}}})
    assert answer.json["response_action"] == "update"
    assert "1 match for “findable”" in texts(answer.json["view"])
    assert "Findable Ltd" in texts(answer.json["view"])


async def test_show_see_all_open_and_help_open_modals(alice, slack, db):
    tp = await prospect("Shown Corp")
    proposal = await validated("proposal", tp.id, "42")
    card = await click(alice, slack, home_views.SHOW, str(tp.id))
    assert card["blocks"][0]["text"]["text"] == "Shown Corp"
    listed = await click(alice, slack, home_views.SEE_ALL, home_views.PORTFOLIOS[0][1])
    assert "1 third party matches rep:me type:prospect status:active" in texts(listed)
    document = await click(alice, slack, home_views.OPEN_DOCUMENT, str(proposal.id))
    assert proposal.ref in texts(document)
    assert "/crm new" in texts(await click(alice, slack, home_views.HELP))


async def test_a_button_on_a_deleted_record_answers_in_words(alice, slack, db):
    tp = await prospect("Gone Soon")
    await ThirdParty.filter(id=tp.id).delete()
    await alice.action(home_views.SHOW, str(tp.id), view=HOME)
    [said] = await slack.wait_for("views.open")
    assert "no longer exists" in texts(said.args["view"])
    forged = await alice.action(home_views.SEE_ALL, "rep:U0OTHER", view=HOME)
    assert forged.status == 200
    [_, stale] = await slack.wait_for("views.open", 2)
    assert "out of date" in texts(stale.args["view"])


async def test_amounts_are_decimal_in_the_domain(db):
    from crm import home

    tp = await prospect("Exact Sums")
    for price in ("0.10", "0.20"):
        await validated("proposal", tp.id, price)
    data = await home.home(context(ALICE))
    assert data.proposals.totals == {"EUR": Decimal("0.30")}
