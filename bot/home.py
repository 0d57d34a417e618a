"""The App Home tab (issue 10): published for the person each time they open it, their
portfolio at a glance, or a welcome with the first steps for a newcomer; and its quick buttons
(New third party, New quote, Search, Help) and "See all" / "Open" buttons."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import cards, home_views as views, thirdparty_picker as picker
from bot.commands import new_thirdparty_form
from bot.documents import card as document_card, editor
from bot.lists import list_message
from bot.payloads import Stale, action, form_values, record_id
from bot.record_card import card_message
from bot.search import results_message
from bot.surface import Interaction, Surface, acked, after_ack, submission
from crm import filters, home, pending, search
from crm.documents import service
from crm.errors import ValidationError


async def publish_home(it: Interaction) -> None:
    """views.publish of the person's Home: a welcome while they have nothing of their own."""
    data = await home.home(it.ctx)
    can_write = it.ctx.actor.can_write
    view = views.welcome_view(can_write) if data.is_empty else views.home_view(data, it.ctx.now(), can_write=can_write)
    await it.client.views_publish(user_id=it.user_id, view=view)


def register(app: AsyncApp, surface: Surface) -> None:
    @app.event("app_home_opened")
    async def home_opened(ack, event, body, client) -> None:
        await ack()
        if event.get("tab") != "home":  # the Messages tab is Slack's own
            return
        it = Interaction({**body, "user_id": event.get("user", "")}, client, surface)
        surface.spawn(after_ack(it, publish_home))

    async def new_thirdparty(it: Interaction) -> None:
        await it.open_form(lambda: new_thirdparty_form(it))

    async def new_quote(it: Interaction) -> None:
        await it.client.views_open(trigger_id=it.trigger_id, view=views.quote_form())

    async def quote_for(it: Interaction):
        """The third party chosen: a new draft proposal for it, its editor in place of the form."""
        thirdparty_id = picker.chosen(it.body["view"], "Choose the third party the quote is for.")

        async def create() -> int:
            return (await service.create(it.ctx, "proposal", thirdparty_id)).id

        # a second submission of the same form opens the same draft
        outcome = await pending.once(it.ctx, f"view:{it.body['view']['id']}", "document.home_quote", create)
        return {"response_action": "update", "view": await editor(it, outcome.result_id)}, None

    async def open_search(it: Interaction) -> None:
        await it.client.views_open(trigger_id=it.trigger_id, view=views.search_form())

    async def search_for(it: Interaction):
        text = views.searched_text(form_values(it.body))
        if not text:
            raise ValidationError(views.SEARCH_BLOCK, "Type what to look for.")
        page = await search.find(it.ctx, text)
        return {"response_action": "update", "view": views.message_modal("Search", results_message(page))}, None

    async def show_help(it: Interaction) -> None:
        await _show(it, "Help", cards.help_message())

    async def see_all(it: Interaction) -> None:
        filter_text = str(action(it.body).get("value") or "")
        if filter_text not in {text for _, text in views.PORTFOLIOS}:
            raise Stale(filter_text[:40])
        await _show(it, "Third parties", list_message(await filters.page(it.ctx, filter_text)))

    async def show_thirdparty(it: Interaction) -> None:
        await _show(it, "Third party", await card_message(it, record_id(action(it.body).get("value"))))

    async def open_document(it: Interaction) -> None:
        await _show(it, "Document", await document_card(it, record_id(action(it.body).get("value"))))

    app.action(views.NEW_THIRDPARTY)(acked(surface, new_thirdparty))
    app.action(views.NEW_QUOTE)(acked(surface, new_quote))
    app.action(views.SEARCH)(acked(surface, open_search))
    app.action(views.HELP)(acked(surface, show_help))
    app.action(views.SEE_ALL)(acked(surface, see_all))
    app.action(views.SHOW)(acked(surface, show_thirdparty))
    app.action(views.OPEN_DOCUMENT)(acked(surface, open_document))
    app.view(views.QUOTE_FORM)(submission(surface, quote_for))
    app.view(views.SEARCH_FORM)(submission(surface, search_for))


async def _show(it: Interaction, title: str, message: dict) -> None:
    """Open `message` in a modal over the Home (views.open: there is no modal to push onto)."""
    await it.client.views_open(trigger_id=it.trigger_id, view=views.message_modal(title, message))
