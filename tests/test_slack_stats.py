"""`/crm stats` through Slack, by signed requests: said at once, then the table in the asker's
conversation with the app and the chart uploaded there (files upload v2); a bad PERIOD answered
with the accepted forms."""
import json
import re

from tests.test_stats import BOB, CAROL, build_fixture

PNG = b"\x89PNG\r\n\x1a\n"


def texts(payload: dict) -> str:
    return json.dumps(payload.get("blocks", []), ensure_ascii=False) + payload.get("text", "")


def table_rows(message: dict) -> dict[str, list[str]]:
    """The rows of the code blocks, by their first cell (the rep's name, or Team)."""
    rows = {}
    for block in message["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        for line in re.findall(r"```(.*?)```", text, re.S):
            for row in line.splitlines():
                cells = row.split()
                rows[" ".join(cells[:-10])] = cells[-10:]
    return rows


async def test_stats_of_the_team_arrive_as_a_table_and_a_chart(alice, slack):
    slack.add_user(CAROL.id, name="carol")
    slack.add_user(BOB.id, name="bob")
    await build_fixture()
    said = await alice.ask("stats 2026-Q2")
    assert "Working out the figures for 2026-Q2" in texts(said)
    done = (await slack.wait_for("chat.update", count=1, timeout=30))[-1].args
    assert done["channel"] == f"D{alice.user_id}"
    rows = table_rows(done)
    # prosp/cust, proposals, proposed, signed, signed amount, win, orders, invoiced, margin, events
    assert rows["carol"] == ["1/2", "1", "200", "2", "900", "100%", "1,000", "300", "180", "1"]
    assert rows["bob"] == ["1/2", "2", "800", "0", "0", "0%", "0", "225", "125", "1"]
    assert rows["No rep"] == ["0/1", "0", "0", "0", "0", "—", "0", "50", "50", "0"]
    assert rows["Team"] == ["2/4", "3", "1,000", "2", "900", "67%", "1,000", "575", "355", "2"]
    assert "1 in USD" in texts(done) and "amounts in EUR" in texts(done)
    [upload] = slack.calls_to("files.completeUploadExternal")
    assert upload.args["channel_id"] == f"D{alice.user_id}"
    [chart] = slack.files.values()
    assert chart.content.startswith(PNG) and chart.filename == "figures-2026-Q2.png"


async def test_stats_of_one_rep_default_to_this_year(alice, slack):
    slack.add_user(BOB.id, name="bob")
    await build_fixture()  # leaves the clock on 1 July 2026
    await alice.ask(f"stats <@{BOB.id}|bob>")
    done = (await slack.wait_for("chat.update", count=1, timeout=30))[-1].args
    assert "Figures for 2026" in texts(done)
    assert table_rows(done) == {"Rep": ["Prosp/Cust", "Proposals", "Proposed", "Signed", "Won", "Win%", "Orders",
                                        "Invoiced", "Margin", "Events"],
                                "bob": ["1/2", "2", "800", "0", "0", "0%", "0", "225", "125", "1"]}


async def test_a_bad_period_is_answered_with_the_accepted_forms(alice, slack):
    said = await alice.ask("stats 2026-Q5")
    assert "`2026-Q5` is not a period" in texts(said) and "2026-01-01..2026-03-31" in texts(said)
    assert slack.calls_to("chat.postMessage") == [] and slack.calls_to("files.completeUploadExternal") == []
