"""`/crm list` and `/crm export` through signed Slack requests: pages with their total and
Previous/Next, a filter too long for a button kept server-side, an export posted as a file
(files upload v2) in the asker's conversation with the app."""
import csv
import io
from datetime import datetime, timezone

import pytest

from crm import clock, thirdparties
from tests.conftest import context
from tests.test_slack_documents import buttons, texts

CUSTOMERS = 45


@pytest.fixture
async def registry(db):
    clock.freeze(datetime(2026, 3, 15, 12, 0, tzinfo=timezone.utc))
    for number in range(1, CUSTOMERS + 1):
        await thirdparties.create(context(), {"name": f"Customer {number:02d}", "type": "customer", "town": "Paris"},
                                  tags=["vip"] if number % 5 == 0 else [])
    await thirdparties.create(context(), {"name": "=HYPERLINK(\"http://evil.example\")", "type": "prospect",
                                          "phone": "+33 1 23 45 67 89"}, tags=["vip"])
    clock.freeze(None)


def shown(message: dict) -> list[str]:
    return [block["text"]["text"].split(" · ")[0] for block in message["blocks"]
            if block.get("accessory", {}).get("action_id") == "thirdparty_show"]


async def next_page(person, message: dict, action_id: str = "list_next") -> dict:
    return await person.press(action_id, buttons(message)[action_id][0]["value"])


async def test_pages_of_twenty_with_the_total(alice, registry):
    first = await alice.ask("list type:customer town:Paris")
    assert "45 third parties match type:customer town:Paris — 1–20" in texts(first)
    assert shown(first) == [f"Customer {n:02d}" for n in range(1, 21)]
    assert "list_previous" not in buttons(first)

    second = await next_page(alice, first)
    assert "— 21–40" in texts(second) and shown(second)[0] == "Customer 21"
    third = await next_page(alice, second)
    assert "— 41–45" in texts(third) and shown(third) == [f"Customer {n}" for n in range(41, 46)]
    assert "list_next" not in buttons(third)
    back = await next_page(alice, third, "list_previous")
    assert shown(back) == shown(second)


async def test_a_filter_too_long_for_a_button_is_kept_server_side(alice, registry):
    text = "type:customer " + " ".join(f"-tag:t{n:04d}" for n in range(300))
    first = await alice.ask(f"list {text}")
    assert f"45 third parties match {text[:20]}" in texts(first)
    value = buttons(first)["list_next"][0]["value"]
    assert len(value) < 200 and "tag:" not in value
    second = await next_page(alice, first)
    assert shown(second)[0] == "Customer 21"


async def test_a_bad_term_is_named(alice, registry):
    answer = await alice.ask("list colour:red")
    assert "colour:red" in texts(answer) and "/crm list" in texts(answer)


async def test_nothing_matches(alice, registry):
    answer = await alice.ask("list tag:nobody")
    assert "No third party matches tag:nobody." in texts(answer) and "list_next" not in buttons(answer)


async def test_export_posts_a_csv_in_the_conversation_with_the_app(alice, slack, registry):
    clock.freeze(datetime(2026, 3, 31, 22, 30, tzinfo=timezone.utc))  # April 1st in Paris (CRM_TIMEZONE)
    said = await alice.ask("export tag:vip")
    assert "Making the CSV export of third parties matching tag:vip" in texts(said)
    done = (await slack.wait_for("chat.update", count=1, timeout=30))[-1].args
    assert "Your export of third parties matching tag:vip is below: 10 third parties." in texts(done)
    [upload] = slack.calls_to("files.completeUploadExternal")
    assert upload.args["channel_id"] == f"D{alice.user_id}"
    [uploaded] = slack.files.values()
    assert uploaded.filename == "thirdparties-2026-04-01.csv"
    [header, *rows] = list(csv.reader(io.StringIO(uploaded.content.decode("utf-8"), newline="")))
    assert header[:3] == ["code", "name", "alias"]
    assert [row[1] for row in rows] == [f"Customer {n:02d}" for n in range(5, 46, 5)] + [
        "'=HYPERLINK(\"http://evil.example\")"]
    assert rows[-1][6] == "+33123456789"  # a phone number (E.164) is not a formula


async def test_export_as_xlsx(alice, slack, registry):
    await alice.ask("export type:prospect xlsx")
    await slack.wait_for("chat.update", count=1, timeout=30)
    [uploaded] = slack.files.values()
    assert uploaded.filename.endswith(".xlsx") and uploaded.content.startswith(b"PK")
