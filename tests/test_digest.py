"""The morning digest: at 9:00 in CRM_TIMEZONE, one direct message per rep with something to act
on and the team's digest in CRM_NOTIFY_CHANNEL, once a day however many workers tick; the next
9:00 computed on the zone's wall clock across daylight-saving changes."""
import asyncio
import dataclasses
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm import clock, thirdparties, timeline
from crm.documents import service as documents
from crm.permissions import Actor
from jobs import schedule
from jobs.digest import next_morning
from jobs.ticker import Ticker
from models import Document, ScheduledJob
from tests.conftest import ADMIN, ALICE, UTC, context

PARIS = ZoneInfo("Europe/Paris")
CAROL, BOB, DAVE = Actor("U0CAROL"), Actor("U0BOB"), Actor("U0DAVE")
TODAY = date(2026, 5, 12)
TEAM_CHANNEL = "C0TEAM"


@pytest.mark.database_free
@pytest.mark.parametrize("now, expected", [
    (datetime(2026, 5, 12, 8, 59, 59, tzinfo=PARIS), datetime(2026, 5, 12, 9, tzinfo=PARIS)),
    (datetime(2026, 5, 12, 9, tzinfo=PARIS), datetime(2026, 5, 13, 9, tzinfo=PARIS)),
    (datetime(2026, 5, 12, 6, 30, tzinfo=UTC), datetime(2026, 5, 12, 9, tzinfo=PARIS)),  # 8:30 in Paris
    (datetime(2026, 5, 12, 23, 30, tzinfo=UTC), datetime(2026, 5, 13, 9, tzinfo=PARIS)),  # 1:30 in Paris
])
def test_the_next_run_is_the_next_nine_oclock_in_the_zone(now, expected):
    assert next_morning(now, PARIS) == expected


@pytest.mark.database_free
def test_the_next_run_stays_at_nine_across_daylight_saving_changes():
    spring = next_morning(datetime(2026, 3, 28, 10, tzinfo=PARIS), PARIS)  # Paris moves to summer time on the 29th
    assert spring.astimezone(PARIS).isoformat() == "2026-03-29T09:00:00+02:00"
    assert spring.timestamp() - datetime(2026, 3, 28, 10, tzinfo=PARIS).timestamp() == 22 * 3600
    autumn = next_morning(datetime(2026, 10, 24, 9, 0, 1, tzinfo=PARIS), PARIS)  # and back on 25 October
    assert autumn.astimezone(PARIS).isoformat() == "2026-10-25T09:00:00+01:00"


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> None:
    clock.freeze(datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=PARIS).astimezone(UTC))


async def validated(doc_type, tp, **dates):
    made = await documents.create(context(ALICE, PARIS), doc_type, tp.id)
    await documents.add_line(context(ALICE, PARIS), made.id, {"label": "Work", "unit_price": "100", "vat_rate": "20"})
    await documents.update(context(ALICE, PARIS), made.id, {name: str(value) for name, value in dates.items()})
    await documents.apply_move(context(ALICE, PARIS), made.id, "validate")
    return await Document.get(id=made.id)


async def planned(actor, tp, kind, title, starts_at):
    return await timeline.add_manual(context(actor, PARIS), tp.id, kind, title=title, starts_at=starts_at,
                                     duration_minutes=None)


async def build_fixture():
    at(TODAY - timedelta(days=10), 10)
    acme = await thirdparties.create(context(ADMIN), {"name": "Acme <!channel>", "type": "customer"},
                                     sales_reps=[CAROL.id])
    beta = await thirdparties.create(context(ADMIN), {"name": "Beta", "type": "customer"}, sales_reps=[BOB.id])
    expiring = await validated("proposal", acme, valid_until=TODAY + timedelta(days=2))
    later = await validated("proposal", beta, valid_until=TODAY + timedelta(days=5))
    signed = await validated("proposal", acme, valid_until=TODAY + timedelta(days=1))
    await documents.apply_move(context(ALICE, PARIS), signed.id, "sign")
    overdue = await validated("invoice", beta, due_on=TODAY - timedelta(days=1))
    due_today = await validated("invoice", acme, due_on=TODAY)
    paid = await validated("invoice", acme, due_on=TODAY - timedelta(days=3))
    await documents.add_payment(context(ALICE, PARIS), paid.id, {"amount": "120", "method": "transfer"})
    call = datetime(TODAY.year, TODAY.month, TODAY.day, 14, tzinfo=PARIS)
    await planned(CAROL, acme, "call", "Renewal call", call)
    await planned(CAROL, acme, "meeting", "Tomorrow's meeting", call + timedelta(days=1))
    done = await planned(BOB, beta, "task", "Done already", call)
    await timeline.mark_done(context(BOB, PARIS), done.id)
    await planned(DAVE, beta, "task", "Send the brochure", call)
    return {"expiring": expiring.ref, "later": later.ref, "signed": signed.ref, "overdue": overdue.ref,
            "due_today": due_today.ref, "paid": paid.ref}


def texts(payload: dict) -> str:
    return json.dumps(payload.get("blocks", []), ensure_ascii=False) + payload.get("text", "")


async def until(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_each_rep_gets_one_digest_at_nine_and_the_channel_the_teams_once_a_day(db, slack, settings):
    refs = await build_fixture()
    settings = dataclasses.replace(settings, slack_api_url=slack.api_url, notify_channel=TEAM_CHANNEL)
    [digest_job] = [job for job in schedule(settings) if job.name == "morning-digest"]
    at(TODAY, 8, 59, 59)
    tickers = [Ticker(settings, [digest_job], tick=0.05) for _ in range(3)]  # three workers
    for ticker in tickers:
        await ticker.start()
    try:
        await asyncio.sleep(0.3)
        assert slack.calls_to("chat.postMessage") == []  # not 9:00 yet
        at(TODAY, 9, 0, 1)
        await until(lambda: len(slack.calls_to("chat.postMessage")) >= 4)
        await asyncio.sleep(0.5)  # more ticks of every worker: nothing more is sent today
        posts = {call.args["channel"]: call.args for call in slack.calls_to("chat.postMessage")}
        assert len(slack.calls_to("chat.postMessage")) == 4
        assert set(posts) == {f"D{CAROL.id}", f"D{BOB.id}", f"D{DAVE.id}", TEAM_CHANNEL}  # not Alice: nothing hers
        carol, bob, dave, team = (texts(posts[c]) for c in (f"D{CAROL.id}", f"D{BOB.id}", f"D{DAVE.id}", TEAM_CHANNEL))
        assert refs["expiring"] in carol and "Renewal call" in carol and "Acme &lt;!channel&gt;" in carol
        for absent in ("later", "signed", "overdue", "due_today", "paid"):
            assert refs[absent] not in carol
        assert "Tomorrow's meeting" not in carol and "Invoices past due" not in carol
        assert refs["overdue"] in bob and "Done already" not in bob and refs["expiring"] not in bob
        assert "Send the brochure" in dave and "Proposals expiring" not in dave
        for shown in (refs["expiring"], refs["overdue"], "Renewal call", "Send the brochure"):
            assert shown in team
        assert "<@" not in team and "<!channel>" not in team  # names nobody, broadcasts nothing
        assert (await ScheduledJob.get(name="morning-digest")).due_at == datetime(2026, 5, 13, 9, tzinfo=PARIS)

        at(TODAY + timedelta(days=1), 9, 0, 1)  # the next morning: Carol, Bob and the team; Dave has nothing
        await until(lambda: len(slack.calls_to("chat.postMessage")) >= 7)
        await asyncio.sleep(0.3)
        next_day = slack.calls_to("chat.postMessage")[4:]
        assert sorted(call.args["channel"] for call in next_day) == sorted([f"D{CAROL.id}", f"D{BOB.id}", TEAM_CHANNEL])
        assert "Tomorrow's meeting" in texts(next(c.args for c in next_day if c.args["channel"] == f"D{CAROL.id}"))
    finally:
        for ticker in tickers:
            await ticker.stop()
