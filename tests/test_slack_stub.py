"""Proves the Slack stand-in (tests/slack_stub.py) and request builders (tests/slack_requests.py).

The Web API side is exercised with slack_sdk's real AsyncWebClient, the inbound
side with a tiny real bolt AsyncApp, so both ends agree with the libraries the
CRM uses rather than with our own assumptions.
"""

import json
import time

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack_requests import SlackClient, chat_message, modal, sign, slash_command, url_verification
from tests.slack_stub import SlackStub

pytestmark = pytest.mark.database_free

SECRET = "test-signing-secret"
TOKEN = "xoxb-test"


@pytest.fixture
async def slack():
    async with SlackStub() as stub:
        yield stub


@pytest.fixture
def web_client(slack):
    return AsyncWebClient(base_url=slack.api_url, token=TOKEN)


# -- signatures ----------------------------------------------------------


def test_sign_is_accepted_by_slack_sdk_verifier_only_for_the_signed_body_and_fresh_timestamp():
    verifier = SignatureVerifier(SECRET)
    body, _ = slash_command("new prospect Acme")

    assert verifier.is_valid_request(body, sign(SECRET, body))
    assert not verifier.is_valid_request(body + "&x=1", sign(SECRET, body))
    assert not verifier.is_valid_request(body, sign(SECRET, body, timestamp=int(time.time()) - 600))
    assert not verifier.is_valid_request(body, sign("other-secret", body))


# -- Web API -------------------------------------------------------------


async def test_post_message_is_recorded_with_token_and_answered_like_slack(slack, web_client):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Acme*"}}]
    first = await web_client.chat_postMessage(channel="C0GENERAL", text="Acme", blocks=blocks)
    second = await web_client.chat_postMessage(channel="C0GENERAL", text="again")

    assert first["channel"] == "C0GENERAL" and first["message"]["blocks"] == blocks
    assert first["ts"] != second["ts"]
    call = slack.calls_to("chat.postMessage")[0]
    assert call.args["blocks"] == blocks and call.token == TOKEN


async def test_form_encoded_json_fields_are_decoded(slack, web_client):
    blocks = [{"type": "divider"}]
    await web_client.api_call("chat.update", data={"channel": "C1", "ts": "1.2", "blocks": json.dumps(blocks)})

    assert slack.calls_to("chat.update")[0].args["blocks"] == blocks


SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Acme*"}}


async def test_views_open_echoes_the_view_with_an_id_and_hash(slack, web_client):
    title = {"type": "plain_text", "text": "New"}
    view = {"type": "modal", "callback_id": "new_prospect", "title": title, "blocks": [SECTION]}
    opened = await web_client.views_open(trigger_id="1.2.3", view=view)

    assert opened["view"]["id"].startswith("V") and opened["view"]["hash"]
    assert opened["view"]["callback_id"] == "new_prospect"
    assert slack.calls_to("views.open")[0].args["view"] == view


async def test_users_info_knows_only_added_users(slack, web_client):
    slack.add_user("U0BOB", name="bob", tz="America/New_York", is_restricted=True, email="bob@example.com")

    bob = (await web_client.users_info(user="U0BOB"))["user"]
    assert (bob["name"], bob["tz"], bob["is_restricted"], bob["profile"]["email"]) == (
        "bob",
        "America/New_York",
        True,
        "bob@example.com",
    )
    with pytest.raises(SlackApiError) as failure:
        await web_client.users_info(user="U0NOBODY")
    assert failure.value.response["error"] == "user_not_found"


async def test_conversations_open_and_permalink(web_client):
    dm = await web_client.conversations_open(users="U0ALICE")
    link = await web_client.chat_getPermalink(channel="C0GENERAL", message_ts="1700000000.000100")

    assert dm["channel"]["id"] == "DU0ALICE"
    assert link["permalink"] == "https://example.slack.com/archives/C0GENERAL/p1700000000000100"


async def test_files_upload_v2_keeps_the_bytes_and_serves_them_back(slack, web_client):
    content = b"id,name\n1,Acme\n"
    uploaded = await web_client.files_upload_v2(
        content=content, filename="export.csv", title="Export", channel="C0GENERAL", initial_comment="Here it is"
    )

    file_id = uploaded["file"]["id"]
    kept = slack.files[file_id]
    assert (kept.filename, kept.title, kept.content, kept.channel_id, kept.initial_comment) == (
        "export.csv",
        "Export",
        content,
        "C0GENERAL",
        "Here it is",
    )
    info = await web_client.files_info(file=file_id)
    async with aiohttp.ClientSession() as session:
        async with session.get(info["file"]["url_private_download"]) as download:
            assert await download.read() == content


async def test_upload_url_also_accepts_a_multipart_file(slack, web_client):
    ticket = await web_client.files_getUploadURLExternal(filename="notes.txt", length=5)
    form = aiohttp.FormData()
    form.add_field("file", b"notes", filename="notes.txt")
    async with aiohttp.ClientSession() as session:
        await session.post(ticket["upload_url"], data=form)
    await web_client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "Notes"}])

    assert slack.files[ticket["file_id"]].content == b"notes"


async def test_fail_next_fails_one_call_then_recovers(slack, web_client):
    slack.fail_next("chat.postMessage", status=429)
    slack.fail_next("chat.postMessage", error="channel_not_found")

    with pytest.raises(SlackApiError) as limited:
        await web_client.chat_postMessage(channel="C1", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    with pytest.raises(SlackApiError) as missing:
        await web_client.chat_postMessage(channel="C1", text="x")
    assert missing.value.response["error"] == "channel_not_found"
    assert (await web_client.chat_postMessage(channel="C1", text="x"))["ok"]


async def test_missing_token_and_unknown_methods_are_refused_but_recorded(slack, web_client):
    with pytest.raises(SlackApiError) as unauthenticated:
        await AsyncWebClient(base_url=slack.api_url).chat_postMessage(channel="C1", text="x")
    with pytest.raises(SlackApiError) as unknown:
        await web_client.api_call("crm.nothing")

    assert unauthenticated.value.response["error"] == "not_authed"
    assert unknown.value.response["error"] == "unknown_method"
    assert [call.method for call in slack.calls] == ["chat.postMessage", "crm.nothing"]


async def test_wait_for_reports_the_methods_seen(slack, web_client):
    await web_client.auth_test()

    with pytest.raises(AssertionError, match=r"views\.open.*auth\.test"):
        await slack.wait_for("views.open", timeout=0.05)


async def test_response_url_posts_are_recorded(slack):
    async with aiohttp.ClientSession() as session:
        await session.post(slack.response_url("deal"), json={"text": "Saved", "replace_original": True})

    [response] = await slack.wait_for_response()
    assert (response.name, response.body["text"]) == ("deal", "Saved")


# -- Block Kit: refused as Slack refuses it --------------------------------

TITLE = {"type": "plain_text", "text": "CRM"}
LONG_TITLE = {"type": "modal", "title": {**TITLE, "text": "A title of thirty characters."}, "blocks": [SECTION]}
TITLE_TOO_LONG = "view: title must be between 1 and 24 characters"
HEADER_IN_MRKDWN = [{"type": "header", "text": {"type": "mrkdwn", "text": "*Acme*"}}]


@pytest.mark.parametrize("method", ["views.open", "views.push", "views.update"])
async def test_an_invalid_view_is_refused_with_slacks_error_and_recorded(slack, web_client, method):
    with pytest.raises(SlackApiError) as refused:
        await web_client.api_call(method, json={"trigger_id": "1.2.3", "view_id": "V1", "view": LONG_TITLE})

    assert refused.value.response.data == {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {"messages": [TITLE_TOO_LONG]},
    }
    assert [(r.method, r.problems) for r in slack.refusals] == [(method, [TITLE_TOO_LONG])]
    assert len(slack.calls_to(method)) == 1  # recorded as a call all the same


async def test_views_publish_takes_a_valid_home_tab_only(slack, web_client):
    published = await web_client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": [SECTION]})
    assert published["view"]["type"] == "home"

    with pytest.raises(SlackApiError) as refused:
        await web_client.views_publish(user_id="U0ALICE", view={**LONG_TITLE, "title": TITLE})
    assert refused.value.response["error"] == "invalid_arguments"
    assert refused.value.response["response_metadata"]["messages"] == ["type: must be home here, not 'modal'"]


@pytest.mark.parametrize("method", ["chat.postMessage", "chat.update", "chat.postEphemeral"])
async def test_an_invalid_message_is_refused_with_invalid_blocks_and_recorded(slack, web_client, method):
    args = {"channel": "C1", "ts": "1.2", "user": "U0ALICE", "text": "Acme", "blocks": HEADER_IN_MRKDWN}
    with pytest.raises(SlackApiError) as refused:
        await web_client.api_call(method, json=args)

    problems = ["blocks[0].text.type: must be plain_text here, not mrkdwn"]
    assert refused.value.response.data == {
        "ok": False,
        "error": "invalid_blocks",
        "response_metadata": {"messages": problems},
    }
    assert [(r.method, r.problems) for r in slack.refusals] == [(method, problems)]


async def test_a_message_without_text_or_blocks_is_refused(slack, web_client):
    with pytest.raises(SlackApiError) as refused:
        await web_client.api_call("chat.postMessage", json={"channel": "C1", "text": ""})

    assert refused.value.response["response_metadata"]["messages"] == ["message: needs text or blocks"]


async def test_an_invalid_response_url_body_gets_a_400_and_is_not_recorded_as_a_response(slack):
    async with aiohttp.ClientSession() as session:
        async with session.post(slack.response_url("deal"), json={"text": "x", "blocks": HEADER_IN_MRKDWN}) as refused:
            assert (refused.status, await refused.text()) == (400, "invalid_blocks")
        async with session.post(slack.response_url("deal"), json={"delete_original": True}) as accepted:
            assert accepted.status == 200

    assert [response.body for response in slack.responses] == [{"delete_original": True}]
    assert [(r.method, r.problems) for r in slack.refusals] == [
        ("response_url", ["blocks[0].text.type: must be plain_text here, not mrkdwn"])
    ]


async def test_assert_nothing_refused_lists_every_problem_until_reset(slack, web_client):
    await web_client.chat_postMessage(channel="C1", text="Acme", blocks=[SECTION])
    slack.assert_nothing_refused()

    with pytest.raises(SlackApiError):
        await web_client.views_open(trigger_id="1.2.3", view={"type": "modal", "blocks": [SECTION]})
    with pytest.raises(AssertionError, match=r"(?s)refused invalid Block Kit:\nviews\.open: title: required"):
        slack.assert_nothing_refused()

    slack.reset()
    slack.assert_nothing_refused()


async def test_socket_mode_acks_showing_invalid_views_or_messages_are_recorded(slack, web_client):
    opened = await AsyncWebClient(base_url=slack.api_url).apps_connections_open(app_token="xapp-test")
    valid = {**LONG_TITLE, "title": TITLE}
    async with aiohttp.ClientSession() as session, session.ws_connect(opened["url"]) as socket:
        await socket.receive_json()  # hello
        await socket.send_json({"envelope_id": "1", "payload": {"response_action": "update", "view": valid}})
        await socket.send_json({"envelope_id": "2", "payload": {"response_action": "push", "view": LONG_TITLE}})
        await socket.send_json({"envelope_id": "3", "payload": {"text": "Hi", "blocks": HEADER_IN_MRKDWN}})
        await socket.send_json({"envelope_id": "4", "payload": {"response_action": "errors", "errors": {"a": "b"}}})
        await slack.wait_for_socket_ack("4")

    assert [(r.method, r.problems) for r in slack.refusals] == [
        ("socket_ack", [TITLE_TOO_LONG]),
        ("socket_ack", ["blocks[0].text.type: must be plain_text here, not mrkdwn"]),
    ]


# -- end to end through a real bolt app ----------------------------------


@pytest.fixture
async def crm(slack):
    """A signed SlackClient talking to a tiny bolt app whose WebClient points at the stub."""
    bolt = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(base_url=slack.api_url, token=TOKEN))

    @bolt.command("/crm")
    async def crm_command(ack, command, say):
        await ack()
        await say(f"Creating {command['text']}")

    @bolt.action("open_deal")
    async def open_deal(ack, action, respond):
        await ack()
        await respond(f"Opened {action['value']}")

    @bolt.options("company")
    async def company_options(ack, payload):
        await ack(options=[{"text": {"type": "plain_text", "text": "Acme"}, "value": payload["value"]}])

    @bolt.view("new_prospect")
    async def new_prospect(ack, view, client, body):
        await ack()
        name = view["state"]["values"]["name"]["name"]["value"]
        await client.chat_postMessage(channel=body["user"]["id"], text=f"Saved {name}")

    @bolt.view_closed("new_prospect")
    async def new_prospect_closed(ack):
        await ack()

    @bolt.shortcut("quick_add")
    async def quick_add(ack, shortcut, client):
        await ack()
        await client.views_open(trigger_id=shortcut["trigger_id"], view=modal("new_prospect", blocks=[SECTION]))

    @bolt.shortcut("log_message")
    async def log_message(ack, shortcut, respond):
        await ack()
        await respond(f"Logged {shortcut['message']['text']}")

    @bolt.event("app_mention")
    async def mentioned(say):
        await say("Hi")

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", events)
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        yield SlackClient(session, str(server.make_url("/")), SECRET, response_url=slack.response_url())


async def test_signed_command_reaches_the_app_which_posts_through_the_stub(slack, crm):
    reply = await crm.command("new prospect Acme")

    assert reply.status == 200
    [post] = await slack.wait_for("chat.postMessage")
    assert (post.args["channel"], post.args["text"]) == ("C0GENERAL", "Creating new prospect Acme")


async def test_bad_or_stale_signatures_are_rejected(slack, crm):
    body, content_type = slash_command("new prospect Acme")

    assert (await crm.post(body, content_type, signature="v0=" + "0" * 64)).status == 401
    assert (await crm.post(body, content_type, timestamp=int(time.time()) - 600)).status == 401
    assert slack.calls_to("chat.postMessage") == []


async def test_interactivity_payloads_match_bolt_listeners(slack, crm):
    assert (await crm.action("open_deal", "D42", message=chat_message("Deal"))).status == 200
    [response] = await slack.wait_for_response()
    assert response.body["text"] == "Opened D42"

    options = await crm.suggest("company", "Ac", view=modal("new_prospect"))
    assert options.json["options"][0]["value"] == "Ac"

    submitted = await crm.submit("new_prospect", {"name": {"name": {"type": "plain_text_input", "value": "Acme"}}})
    assert submitted.status == 200
    [saved] = await slack.wait_for("chat.postMessage")
    assert (saved.args["channel"], saved.args["text"]) == ("U0ALICE", "Saved Acme")

    assert (await crm.close("new_prospect")).status == 200
    assert (await crm.shortcut("quick_add")).status == 200
    await slack.wait_for("views.open")

    assert (await crm.shortcut("log_message", message=chat_message("Call Acme"))).status == 200
    [_, logged] = await slack.wait_for_response(count=2)
    assert logged.body["text"] == "Logged Call Acme"
    slack.assert_nothing_refused()


async def test_events_and_url_verification_reach_the_app(slack, crm):
    mention = {"type": "app_mention", "user": "U0ALICE", "text": "<@UBOT> hi", "channel": "C0GENERAL", "ts": "1.2"}
    reply = await crm.event(mention)
    assert reply.status == 200
    [post] = await slack.wait_for("chat.postMessage")
    assert (post.args["channel"], post.args["text"]) == ("C0GENERAL", "Hi")

    assert (await crm.post(*url_verification("xyz"))).json == {"challenge": "xyz"}
