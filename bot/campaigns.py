"""`/crm campaign new|list|show ID`: the form that creates a campaign (its recipients counted as
the filter is typed), the campaign's message in its creator's conversation with the app, whose
buttons send, pause, resume or cancel it and which the workers keep up to date while it sends."""
from __future__ import annotations


from slack_bolt.async_app import AsyncApp

from bot import campaign_views as views, cards
from bot.field_inputs import selected_moment
from bot.parser import Command
from bot.payloads import Stale, action, form_values, record_id
from bot.surface import Interaction, Surface, acked, submission
from crm.campaigns import sender, service
from crm.errors import ValidationError
from crm.permissions import require_writer
from models import EmailTemplate, User


async def start(it: Interaction, command: Command) -> None:
    """`/crm campaign new`, `/crm campaign list`, `/crm campaign show ID`."""
    word = command.args[0].lower() if command.args else ""
    if word == "new":
        await it.open_form(lambda: _new_form(it))
    elif word == "list":
        await it.answer(views.campaign_list(await service.latest(it.ctx)))
    elif word == "show" and len(command.args) == 2:
        await it.answer(await _message(it, record_id(command.args[1])))
    else:
        raise ValidationError("campaign", "Use /crm campaign new, /crm campaign list or /crm campaign show ID.")


async def _new_form(it: Interaction, target: str = "", matching: int | None = None) -> dict:
    require_writer(it.ctx.actor, "create campaigns")
    return views.new_campaign_modal(await _template_names(), target, matching)


async def _template_names() -> list[str]:
    names = await EmailTemplate.filter(type="campaign").distinct().order_by("name").values_list("name", flat=True)
    return list(dict.fromkeys(names))


async def _message(it: Interaction, campaign_id: int) -> dict:
    campaign, tally = await service.get(it.ctx, campaign_id)
    return views.campaign_message(campaign, tally, can_change=service.may_change(it.ctx.actor, campaign))


def register(app: AsyncApp, surface: Surface) -> None:
    async def count(it: Interaction) -> None:
        """Enter in the filter: the form again, with how many third parties it finds."""
        view = it.body["view"]
        target = str(action(it.body).get("value") or "")
        matching = await service.matching(it.ctx, target)
        await it.client.views_update(view_id=view["id"], hash=view.get("hash"),
                                     view=await _new_form(it, target, matching))

    async def create(it: Interaction):
        state = form_values(it.body)
        name = state["name"]["value"].get("value") or ""
        template = (state["template"]["value"].get("selected_option") or {}).get("value") or ""
        target = state["target"][views.TARGET_ACTION].get("value") or ""
        campaign = await service.create(it.ctx, name, template, target,
                                        selected_moment(state.get("send_at", {}).get("value", {})))

        async def post() -> None:
            tally = await service.tally(campaign.id)
            posted = await it.direct_message(views.campaign_message(campaign, tally, can_change=True))
            await service.set_progress_message(campaign.id, posted["channel"], posted["ts"])
        return {}, post

    async def change(it: Interaction) -> None:
        """A button of the campaign's message: the move, then the message as the campaign is now."""
        chosen = action(it.body)
        move = views.ACTIONS.get(chosen.get("action_id", ""))
        if move is None:
            raise Stale(chosen.get("action_id", ""))
        campaign = await service.move(it.ctx, record_id(chosen.get("value")), move)
        await it.answer(await _message(it, campaign.id), replace=True)

    async def test(it: Interaction) -> None:
        """The campaign's email, to the person who clicked, at their Slack address."""
        address = await User.filter(id=it.user_id).values_list("email", flat=True)
        if not address or not address[0]:
            raise ValidationError("email", "Slack did not tell us your email address, so there is nowhere to send "
                                           "the test.")
        answer = await sender.send_test(it.ctx, record_id(action(it.body).get("value")), address[0])
        await it.answer(cards.notice(f"The test went to {address[0]} (the server said: {answer})."))

    async def show(it: Interaction) -> None:
        await it.answer(await _message(it, record_id(action(it.body).get("value"))))

    app.action(views.TARGET_ACTION)(acked(surface, count))
    app.view(views.NEW)(submission(surface, create, aliases={"FILTER": "target"}))
    for action_id in views.ACTIONS:
        app.action(action_id)(acked(surface, change))
    app.action("campaign_show")(acked(surface, show))
    app.action("campaign_test")(acked(surface, test))

