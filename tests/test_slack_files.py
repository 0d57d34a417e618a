"""Files, mentions, unfurls and "New third party from message", by signed requests and events:
files downloaded from the Slack stand-in with the bot token (and only from Slack's hosts),
stored, posted back with files upload v2; mentions answered in thread with the public stub;
links to PUBLIC_URL/t/CODE unfurled with chat.unfurl."""
import asyncio
import dataclasses
import json

import pytest

from crm import attachments, clock, thirdparties
from crm.context import Context
from crm.documents import service as documents
from crm.filestore import FileStore
from models import Event, ThirdPartyFile, User
from tests.conftest import ALICE, context, slack_user
from tests.slack_requests import chat_message
from tests.slack_stub import BOT_USER_ID, UploadedFile

CONTRACT = b"%PDF-1.7 the signed contract"
CHANNEL = "C0GENERAL"
MEGABYTE = 1024 * 1024


@pytest.fixture
def settings(settings):
    """A cap of 1 MB, so that a file over it stays small."""
    return dataclasses.replace(settings, file_max_mb=1)


def texts(payload: dict) -> str:
    return json.dumps(payload.get("blocks", []), ensure_ascii=False) + payload.get("text", "")


def text_objects(node) -> list[dict]:
    """Every text object of some blocks: Slack parses the mrkdwn ones, never the plain_text ones."""
    if isinstance(node, list):
        return [t for item in node for t in text_objects(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if node.get("type") in ("plain_text", "mrkdwn") and "text" in node else []
    return own + [t for value in node.values() for t in text_objects(value)]


def shared_file(slack, file_id: str, content: bytes = CONTRACT, name: str = "contract.pdf", **fields) -> None:
    """A file someone shared in Slack, which files.info describes and /files/ID serves."""
    slack.files[file_id] = UploadedFile(id=file_id, filename=name, title=name, content=content, channel_id=CHANNEL,
                                        initial_comment=None, mimetype="application/pdf", **fields)


def file_state(*file_ids: str) -> dict:
    return {"file": {"value": {"type": "file_input", "files": [{"id": f, "name": f"{f}.pdf"} for f in file_ids]}}}


def element(card: dict, action_id: str) -> dict:
    return next(e for b in card["blocks"] for e in b.get("elements", []) if e.get("action_id") == action_id)


def mention(text: str, ts: str = "1700000100.000100", **fields) -> dict:
    return {"type": "app_mention", "user": ALICE.id, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
            "channel": CHANNEL, "event_ts": ts, **fields}


async def nothing_stored(settings) -> bool:
    root = FileStore.for_settings(settings).root
    return (await ThirdPartyFile.all().count() == 0 and await Event.filter(code="FILE_ADD").count() == 0
            and not (root.exists() and any(p.is_file() for p in root.rglob("*"))))


async def open_attach_form(alice, slack, tp) -> dict:
    card = await alice.ask(f"show {tp.code}")
    assert f"list:{tp.id}" in {e.get("value") for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]}
    listing = await alice.press("thirdparty_files", f"list:{tp.id}")
    assert f"attach:{tp.id}" in {e.get("value") for b in listing["blocks"] if b["type"] == "actions"
                                  for e in b["elements"]}
    reply = await alice.action("thirdparty_files", value=f"attach:{tp.id}")
    assert reply.status == 200
    return (await slack.wait_for("views.open"))[-1].args["view"]


async def test_the_attach_form_downloads_each_file_with_the_bot_token_and_stores_it_once(alice, slack, server):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    form = await open_attach_form(alice, slack, acme)
    assert form["callback_id"] == "file_attach" and form["blocks"][1]["element"]["type"] == "file_input"
    shared_file(slack, "F1")
    shared_file(slack, "F2", b"second file", name="notes.txt")

    replies = [await alice.submit("file_attach", file_state("F1", "F2"), private_metadata=form["private_metadata"],
                                  view_id="VATTACH") for _ in range(2)]  # submitted twice: attached once
    assert [(r.status, r.text) for r in replies] == [(200, ""), (200, "")]
    rows = await ThirdPartyFile.filter(thirdparty_id=acme.id).order_by("id")
    assert [(r.name, r.slack_file_id, r.content_type) for r in rows] == [
        ("contract.pdf", "F1", "application/pdf"), ("notes.txt", "F2", "application/pdf")]
    store = FileStore.for_settings(server.settings)
    assert store.read(rows[0].sha256) == CONTRACT and store.read(rows[1].sha256) == b"second file"
    assert await Event.filter(code="FILE_ADD", thirdparty_id=acme.id).count() == 2
    assert {d.headers.get("Authorization") for d in slack.downloads} == {"Bearer xoxb-test"}
    said = (await slack.wait_for("chat.postMessage"))[-1].args
    assert "Attached to Acme" in said["text"] and "contract.pdf" in said["text"]


@pytest.mark.parametrize("status", [404, 500])
async def test_a_download_that_fails_is_said_next_to_the_field_and_stores_nothing(alice, slack, server, status):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    shared_file(slack, "F1")
    shared_file(slack, "F2")
    slack.download_status["F2"] = status  # the first file downloads, the second does not: neither is kept
    reply = await alice.submit("file_attach", file_state("F1", "F2"), private_metadata=str(acme.id))
    assert reply.json["response_action"] == "errors"
    assert f"HTTP {status}" in reply.json["errors"]["file"]
    assert await nothing_stored(server.settings)


async def test_a_file_over_the_cap_is_refused_before_it_is_downloaded(alice, slack, server):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    shared_file(slack, "F1", b"x" * (MEGABYTE + 1), name="scan.tiff")
    reply = await alice.submit("file_attach", file_state("F1"), private_metadata=str(acme.id))
    assert reply.json["response_action"] == "errors"
    assert "scan.tiff" in reply.json["errors"]["file"] and "1 MB" in reply.json["errors"]["file"]
    assert slack.downloads == [] and await nothing_stored(server.settings)


async def test_a_download_larger_than_slack_said_is_cut_off_at_the_cap(alice, slack, server):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    shared_file(slack, "F1", b"x" * (MEGABYTE + 1), name="scan.tiff", reported_size=10)
    reply = await alice.submit("file_attach", file_state("F1"), private_metadata=str(acme.id))
    assert "scan.tiff" in reply.json["errors"]["file"] and "1 MB" in reply.json["errors"]["file"]
    assert len(slack.downloads) == 1 and await nothing_stored(server.settings)


async def test_the_bot_token_is_never_sent_to_a_host_other_than_slacks(alice, slack, server):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    elsewhere = slack.base_url.replace("127.0.0.1", "localhost") + "files/F1"  # another host, same server
    shared_file(slack, "F1", url_private=elsewhere)
    reply = await alice.submit("file_attach", file_state("F1"), private_metadata=str(acme.id))
    assert "not kept by Slack" in reply.json["errors"]["file"]
    assert slack.downloads == [] and await nothing_stored(server.settings)


async def test_a_read_only_user_gets_no_attach_entry_and_no_form(http, server, slack):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    slack.add_user("U0READER", name="reader")
    await User.create(id="U0READER", role="readonly", created_at=clock.now())
    reader = slack_user(http, server, slack, "U0READER")
    card = await reader.ask(f"show {acme.code}")
    entry = element(card, "thirdparty_files")
    assert (entry["type"], entry["value"]) == ("button", f"list:{acme.id}")
    await reader.action("thirdparty_files", value=f"attach:{acme.id}")  # forged: readers get no such button
    assert "read-only" in texts((await reader.answers())[0])
    assert not slack.calls_to("views.open")


async def test_a_file_shared_in_a_cards_thread_with_the_app_mentioned_is_attached(alice, slack, server):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    await thirdparties.create(context(), {"name": "Other", "type": "customer"})
    await alice.event(mention("A CU1 in the code? no", ts="1700000000.000001"))  # an unknown ref: said in thread
    stub_card = (await slack.wait_for("chat.postMessage"))[-1].args
    assert "I know no third party or document CU1" in texts(stub_card)
    # the thread's first message is Acme's stub, posted when someone mentioned its code
    await alice.event(mention(f"what about {acme.code}?", ts="1700000000.000002"))
    root = (await slack.wait_for("chat.postMessage", count=2))[-1]
    slack.messages[(CHANNEL, "1700000000.000003")] = {**root.args, "ts": "1700000000.000003"}
    shared_file(slack, "F1")

    await alice.event(mention("here is the contract", ts="1700000000.000004", thread_ts="1700000000.000003",
                              files=[{"id": "F1", "name": "contract.pdf"}]))
    answer = (await slack.wait_for("chat.postMessage", count=3))[-1].args
    assert answer["thread_ts"] == "1700000000.000003"
    assert "Attached to Acme" in answer["text"]
    row = await ThirdPartyFile.get(thirdparty_id=acme.id)
    assert FileStore.for_settings(server.settings).read(row.sha256) == CONTRACT
    assert slack.calls_to("conversations.replies")[-1].args["ts"] == "1700000000.000003"


async def test_a_file_shared_naming_a_code_goes_to_that_third_party_and_a_failure_is_said_in_thread(
        alice, slack, server):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    shared_file(slack, "F1", b"x" * (MEGABYTE + 1), name="huge.iso")
    await alice.event(mention(f"for {acme.code}", files=[{"id": "F1"}]))
    answer = (await slack.wait_for("chat.postMessage"))[-1].args
    assert answer["thread_ts"] == "1700000100.000100" and "huge.iso" in texts(answer) and "1 MB" in texts(answer)
    assert await nothing_stored(server.settings)

    shared_file(slack, "F2")
    await alice.event(mention(f"for {acme.code}", ts="1700000100.000200", files=[{"id": "F2"}]))
    answer = (await slack.wait_for("chat.postMessage", count=2))[-1].args
    assert f"Attached to Acme ({acme.code}): contract.pdf" in answer["text"]


async def test_post_here_uploads_the_file_back_with_files_upload_v2_once(alice, slack, server):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    record = await _attached(server, acme.id)
    listed = await alice.press("thirdparty_files", f"list:{acme.id}")
    assert "contract.pdf" in texts(listed)
    button = next(b["accessory"] for b in listed["blocks"] if b.get("accessory", {}).get("action_id") == "file_post")
    assert button["value"] == str(record.id)

    answered = len(slack.responses)
    await alice.action("file_post", str(record.id))
    await alice.action("file_post", str(record.id))  # a double click: whichever runs second says so
    await slack.wait_for("files.completeUploadExternal", timeout=15.0)
    said = await slack.wait_for_response(answered + 1, timeout=15.0)
    assert ["posted here already" in texts(response.body) for response in said[answered:]] == [True]
    assert [(f.filename, f.content, f.channel_id) for f in slack.files.values()] == [("contract.pdf", CONTRACT, CHANNEL)]


async def _attached(server, thirdparty_id: int):
    return await attachments.attach(Context(ALICE, server.settings, clock), thirdparty_id, "contract.pdf", CONTRACT,
                                    "application/pdf")


async def test_a_mention_of_codes_and_refs_answers_the_public_stub_in_thread(alice, slack, server):
    acme = await thirdparties.create(context(), {"name": "<!channel> Acme", "type": "prospect",
                                                 "note_private": "Secret discount"})
    quote = await documents.create(context(), "proposal", acme.id)
    await alice.event(mention(f"see {acme.code} and (PROV{quote.id}), not XY123"))
    answer = (await slack.wait_for("chat.postMessage"))[-1].args
    assert answer["channel"] == CHANNEL and answer["thread_ts"] == "1700000100.000100"
    shown = texts(answer)
    assert acme.code in shown and "Prospect" in shown and f"Proposal (PROV{quote.id})" in shown and "Draft" in shown
    assert "Secret discount" not in shown
    assert answer["text"].startswith("&lt;!channel&gt; Acme")  # shown as typed, never a broadcast
    assert all(t["type"] == "plain_text" for t in text_objects(answer["blocks"]) if "<!channel>" in t["text"])
    assert "I know no third party or document XY123" in shown

    full = await alice.press("mention_full_card", f"thirdparty:{acme.id}")
    assert full["response_type"] == "ephemeral" and "Secret discount" in texts(full)

    await alice.event(mention(f"see {acme.code} and (PROV{quote.id}), not XY123"))  # Slack's retry of it
    await asyncio.sleep(0.5)
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_links_to_public_url_t_code_unfurl_into_the_stub_and_unknown_codes_are_left_alone(
        alice, slack, server, http):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer", "note_private": "Secret"})
    base = server.settings.public_url
    links = [{"domain": "localhost", "url": f"{base}/t/{acme.code}"}, {"domain": "localhost", "url": f"{base}/t/NOPE1"},
             {"domain": "example.org", "url": f"https://example.org/t/{acme.code}"}]
    await alice.event({"type": "link_shared", "channel": CHANNEL, "user": ALICE.id, "message_ts": "1700000200.000100",
                       "unfurl_id": "U1", "source": "conversations_history", "links": links})
    call = (await slack.wait_for("chat.unfurl"))[-1].args
    assert (call["channel"], call["ts"]) == (CHANNEL, "1700000200.000100")
    assert list(call["unfurls"]) == [f"{base}/t/{acme.code}"]
    unfurled = json.dumps(call["unfurls"])
    assert "Acme" in unfurled and acme.code in unfurled and "Secret" not in unfurled

    await alice.event({"type": "link_shared", "channel": CHANNEL, "user": ALICE.id, "message_ts": "1700000200.000200",
                       "source": "conversations_history", "links": links[1:]})
    await alice.event(mention("hello", ts="1700000200.000300"))  # answered after the unfurl had its turn
    await slack.wait_for("chat.postMessage")
    assert len(slack.calls_to("chat.unfurl")) == 1

    async with http.get(f"{server.url}/t/{acme.code}") as page:
        body = await page.text()
    assert page.status == 200 and "Open this link in Slack" in body and "Acme" not in body


async def test_new_third_party_from_message_opens_the_create_form_prefilled(alice, slack, server):
    message = chat_message("Globex Corporation\nReach Hank at <mailto:hank@globex.example|hank@globex.example> "
                           "or +33 1 23 45 67 89, meeting 2026-11-28", user_id="U0BOB")
    await alice.shortcut("thirdparty_from_message", message)
    view = (await slack.wait_for("views.open"))[-1].args["view"]
    assert view["callback_id"] == "thirdparty_new"
    initial = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    assert (initial["name"], initial["email"], initial["phone"]) == (
        "Globex Corporation", "hank@globex.example", "+33 1 23 45 67 89")


async def test_a_file_shared_in_the_thread_of_a_card_shared_in_channel_goes_to_its_record(alice, slack, server):
    await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    globex = await thirdparties.create(context(), {"name": "Globex", "type": "customer"})
    shared = await alice.press("thirdparty_share", str(globex.id))
    assert shared["response_type"] == "in_channel"
    slack.messages[(CHANNEL, "1700000300.000100")] = {**shared, "ts": "1700000300.000100"}
    shared_file(slack, "F1")
    await alice.event(mention("", ts="1700000300.000200", thread_ts="1700000300.000100", files=[{"id": "F1"}]))
    answer = (await slack.wait_for("chat.postMessage"))[-1].args
    assert answer["text"] == f"Attached to Globex ({globex.code}): contract.pdf (28 bytes)."
    assert await ThirdPartyFile.filter(thirdparty_id=globex.id).count() == 1


async def test_a_file_shared_without_saying_for_whom_is_answered_in_words(alice, slack, server):
    shared_file(slack, "F1")
    await alice.event(mention("", files=[{"id": "F1"}]))
    answer = (await slack.wait_for("chat.postMessage"))[-1].args
    assert "Say which third party" in answer["text"] and answer["thread_ts"] == "1700000100.000100"
    assert slack.downloads == [] and await nothing_stored(server.settings)
