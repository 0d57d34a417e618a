"""`/crm stats [@user] [PERIOD]`: said at once, then the figures (SPEC §9) in the caller's
conversation with the app: a table, and a chart uploaded beside it."""
from __future__ import annotations

import asyncio

from bot import stats_views as views
from bot.parser import Command, user_id
from bot.surface import Interaction
from crm import periods, stats


async def show_stats(it: Interaction, command: Command) -> None:
    rep_id, period_words = _rep_and_period(it, command)
    period = periods.parse(" ".join(period_words), it.ctx.timezone, it.ctx.now().astimezone(it.ctx.timezone).date())
    whose = " of one rep" if rep_id else ""

    async def make(channel: str) -> dict:
        found = await stats.figures(it.ctx, period, rep_id)
        names = await it.names([row.rep_id for row in found.reps if row.rep_id])
        png = await asyncio.to_thread(views.chart_png, found, names)
        if png is not None:
            await it.client.files_upload_v2(channel=channel, file=png, filename=f"figures-{period.label}.png",
                                            title=f"Invoiced and margin per rep, {period.label}")
        return views.figures_message(found, names)

    await it.deliver(promised=f"Working out the figures{whose} for {period.label}: they will arrive in your "
                              "conversation with the app.",
                     progress=views.in_progress(period.label), make=make,
                     failed=lambda reason: views.failed(period.label, reason))


def _rep_and_period(it: Interaction, command: Command) -> tuple[str | None, list[str]]:
    """A mention (or `me`) names the rep; the other words are the period."""
    rep_id, rest = None, []
    for word in command.args:
        mentioned = it.user_id if word.lower() == "me" else user_id(word)
        if mentioned and rep_id is None:
            rep_id = mentioned
        else:
            rest.append(word)
    return rep_id, rest
