"""How every Slack request is answered (SLACK-UX): ack first, then who is asking, then the work,
then the answer, in words whatever went wrong.

The Bolt app processes each request before responding (`process_before_response`): a listener
acks and returns, and Slack gets its answer at once; the work it spawns runs afterwards, a
few at a time (Surface.slots), so that acknowledging never waits behind it.

- Commands, buttons, menus and shortcuts are acknowledged before anything else: the ack never
  waits on the database or on Slack. The answer follows through `response_url`, a form, or the
  person's conversation with the app.
- A form submission is the exception Slack imposes: its errors can only go in its ack. It is
  checked and saved within SUBMISSION_BUDGET; if the database is slower than that, the form
  says so and the outcome follows as a direct message.
- Options for an external select are answered in their ack too, or with none.

Each listener is a small async function taking an `Interaction`; `acked`, `submission` and
`options` turn it into a Bolt listener.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from babel import Locale
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import cards
from bot.payloads import Stale
from crm import clock, countries, db, users
from crm.context import Context
from crm.documents.pdf import PdfRenderer
from crm.errors import Ambiguous, DatabaseUnavailable, DomainError, EditConflict, NotFound, ValidationError
from crm.settings import Settings

log = logging.getLogger(__name__)

SUBMISSION_BUDGET = 2.5  # seconds: a form's ack must reach Slack within 3
FORM_WAIT = 1.0  # seconds a form may take to build before a loading form is shown instead
PROFILE_TIMEOUT = 1.2  # seconds for users.info: who is asking must be known within the budgets above
GUEST_REFUSAL = "Sorry, Slack guests cannot use the CRM. Ask a full member of the workspace."
UNVERIFIED_REFUSAL = "I could not check your Slack account with Slack just now. Please try again in a moment."
STALE = "This button or form is out of date. Please run the command again."
UNEXPECTED = "Sorry, something went wrong on our side; it has been logged. Please try again."
SLOW_SAVE = ("The database is slow to answer, so this is still being saved. You will get a message "
             "in your conversation with the app when it is done; no need to submit again.")


class Refusal(Exception):
    """The request is answered without being done (a guest, a user Slack cannot vouch for)."""


def words_for(error: BaseException) -> str:
    """What to tell a person about `error`, in words."""
    if isinstance(error, (DomainError, Refusal)):
        return str(error)
    if isinstance(error, Stale):
        return STALE
    if isinstance(error, Exception) and db.is_unavailable(error):
        return str(DatabaseUnavailable())
    if isinstance(error, SlackApiError):
        return f"Slack refused this ({error.response.get('error')}). Please try again."
    return UNEXPECTED


def explained(error: BaseException) -> bool:
    """Whether `error` is an expected outcome rather than a fault worth a traceback in the log."""
    return isinstance(error, (DomainError, Refusal, Stale)) or (
        isinstance(error, Exception) and db.is_unavailable(error))


# Work after an ack waits its turn: with few answers worked on at once, the event loop stays
# free to acknowledge new requests within milliseconds however many arrive.
WORKING_AT_ONCE = 2
# Who asked recently is not read from the database again; a change of role takes effect within this.
KNOWN_FOR = 60.0  # seconds


@dataclass
class Surface:
    """What the listeners of one app share: the settings, who asked recently, and the slots of
    work after an ack."""

    settings: Settings
    known: dict[str, tuple[float, users.KnownUser]] = field(default_factory=dict)
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(WORKING_AT_ONCE))
    working: set[asyncio.Task] = field(default_factory=set)
    renderer: PdfRenderer | None = None  # started at the first PDF asked for

    def spawn(self, work: Awaitable[None]) -> None:
        """Run `work` after the listener has returned (and Slack has its ack), kept track of."""
        task = asyncio.ensure_future(work)
        self.working.add(task)
        task.add_done_callback(self.working.discard)

    def pdf_renderer(self) -> PdfRenderer:
        if self.renderer is None:
            self.renderer = PdfRenderer()
        return self.renderer

    async def close_renderer(self) -> None:
        if self.renderer is not None:
            await self.renderer.aclose()
            self.renderer = None

    async def drain(self, timeout: float) -> None:
        """Let answers under way finish (a process being stopped), for up to `timeout` seconds."""
        if self.working:
            await asyncio.wait(set(self.working), timeout=timeout)

    async def user(self, client: AsyncWebClient, user_id: str) -> users.KnownUser:
        """Who `user_id` is: from recent memory, else the database, refreshed from Slack daily."""
        seen = self.known.get(user_id)
        if seen and time.monotonic() - seen[0] < KNOWN_FOR:
            return seen[1]
        now = clock.now()
        user = await users.get_or_create(user_id, self.settings.default_role, now)
        if user.needs_refresh(now):
            profile = await _slack_profile(client, user_id)
            if profile:
                user = await users.store_profile(user_id, profile, now)
            elif user.refreshed_at is None:
                raise Refusal(UNVERIFIED_REFUSAL)  # never seen by Slack: a guest cannot be told from a member
            else:
                return user  # Slack did not answer: known from before, and asked again next time
        self.known[user_id] = (time.monotonic(), user)
        return user


@dataclass
class Interaction:
    """One request from Slack being answered, and who is asking once known."""

    body: dict
    client: AsyncWebClient
    surface: Surface
    ctx: Context | None = None
    tz: ZoneInfo | None = None  # the person's own time zone, for what only they see
    locale: str | None = None  # the person's language (Slack's `fr-FR`), for the names menus show
    example: str | None = None  # a correct command, shown with what was wrong with theirs
    aliases: dict[str, str] | None = None  # domain field -> the form block showing it, where they differ

    @property
    def user_id(self) -> str:
        return (self.body.get("user") or {}).get("id") or self.body.get("user_id", "")

    @property
    def settings(self) -> Settings:
        return self.surface.settings

    @property
    def reader(self) -> Locale:
        """The language menus name countries and languages in: the person's own."""
        return countries.reader_locale(self.locale)

    @property
    def response_url(self) -> str | None:
        """Where Slack takes answers to a command or a click in a message (none for forms and shortcuts)."""
        return self.body.get("response_url")

    async def respond(self, **message) -> None:
        """Post to the response_url, over the app's one HTTP session to Slack."""
        await post_response(self.client, self.response_url, message)

    @property
    def trigger_id(self) -> str | None:
        return self.body.get("trigger_id")

    @property
    def in_view(self) -> bool:
        """Whether the request comes from a modal (a view can be pushed onto it; not onto the Home tab)."""
        return (self.body.get("view") or {}).get("type") == "modal"

    async def identify(self) -> Context:
        """Who is asking: their role and time zone; guests are refused."""
        user = await self.surface.user(self.client, self.user_id)
        if user.is_guest:
            log.info("refused guest %s", self.user_id)
            raise Refusal(GUEST_REFUSAL)
        self.ctx = Context(user.actor(self.settings.admins), self.settings, clock)
        self.tz = _zone(user.tz) or self.settings.timezone
        self.locale = user.locale
        return self.ctx

    async def names(self, user_ids: list[str]) -> dict[str, str]:
        """Display names of people, to name them in a message others see without notifying them:
        from what Slack told us before, else asked now (an ID stays an ID if Slack does not answer)."""
        ids = list(dict.fromkeys(u for u in user_ids if u and u != "system"))
        known = await users.names(ids)
        missing = [u for u in ids if u not in known]
        for user_id, profile in zip(missing, await asyncio.gather(*(_slack_profile(self.client, u) for u in missing))):
            if profile and profile.name:
                known[user_id] = profile.name
        return known

    async def answer(self, message: dict, *, replace: bool = False) -> None:
        """An answer only the person sees: through response_url where Slack gave one, else a small
        modal over the form they are in (or in place of the form they asked for), else, or when
        Slack will not open it (an expired trigger), their conversation with the app."""
        if self.response_url:
            await self.respond(response_type="ephemeral", replace_original=replace, **message)
            return
        if self.trigger_id:
            show = self.client.views_push if self.in_view else self.client.views_open
            try:
                await show(trigger_id=self.trigger_id, view=_message_view(message))
                return
            except SlackApiError as error:
                log.info("could not show an answer in a modal (%s); sending it as a message",
                         error.response.get("error"))
        await self.direct_message(message)

    async def direct_message(self, message: dict) -> dict:
        """Post in the person's conversation with the app (SPEC §3: long results go there);
        returns Slack's answer (its `channel` and `ts` name the message for later updates)."""
        return await self.client.chat_postMessage(channel=await self._direct_channel(), **message)

    async def deliver(self, *, promised: str, progress: dict, make: Callable[[str], Awaitable[dict]],
                      failed: Callable[[str], dict]) -> None:
        """A long result (a PDF, an export): said at once where the person asked (`promised`),
        a `progress` message in their conversation with the app, then `make(channel)` posts the
        result there and returns the message that replaces the progress one; if it fails, the
        progress message says why (`failed(reason)`)."""
        if self.response_url:
            await self.respond(response_type="ephemeral", replace_original=False, **cards.notice(promised))
        channel = await self._direct_channel()
        posted = await self.client.chat_postMessage(channel=channel, **progress)
        try:
            done = await make(channel)
        except Exception as error:  # noqa: BLE001 - said where the result was promised
            log.warning("a long result failed", exc_info=error)
            done = failed(words_for(error))
        await self.client.chat_update(channel=channel, ts=posted["ts"], **done)

    async def _direct_channel(self) -> str:
        return (await self.client.conversations_open(users=self.user_id))["channel"]["id"]

    async def open_form(self, build: Callable[[], Awaitable[dict]], *, push: bool = False) -> None:
        """Open the form `build` makes. Slack's trigger expires 3 s after the click: if the form
        takes longer than FORM_WAIT, a loading form opens first and is filled when ready. A form
        that cannot be built (the record is gone, a read-only user) is answered in words."""
        show = self.client.views_push if push else self.client.views_open
        building = asyncio.ensure_future(build())
        done, _ = await asyncio.wait({building}, timeout=FORM_WAIT)
        if done:
            await show(trigger_id=self.trigger_id, view=building.result())
            return
        opened = await show(trigger_id=self.trigger_id, view=cards.loading_view("CRM"))
        view_id = opened["view"]["id"]
        try:
            view = await building
        except Exception as error:  # noqa: BLE001 - said in the form that is already open
            _log(error, "building a form")
            view = cards.notice_view("CRM", words_for(error))
        await self.client.views_update(view_id=view_id, view=view)

    async def settle(self, work: Callable[[Interaction], Awaitable[None]]) -> None:
        """Run `work` for the identified person; whatever fails is answered in words."""
        try:
            await self.identify()
            await work(self)
        except Ambiguous as error:
            await self._say(cards.thirdparty_list(str(error), error.candidates))
        except Exception as error:  # noqa: BLE001 - every failure gets an answer
            _log(error, "answering")
            example = self.example if isinstance(error, (ValidationError, NotFound)) else None
            await self._say(cards.error_message(words_for(error), example))

    async def _say(self, message: dict) -> None:
        try:
            await self.answer(message)
        except Exception:  # noqa: BLE001 - Slack itself failing: nothing more can be said
            log.exception("could not answer %s", self.user_id)


async def post_response(client: AsyncWebClient, response_url: str, message: dict) -> None:
    """Post an answer to a response_url, over the Web API client's session when it has one
    (kept-alive connections), else a session of its own."""
    async with http_session(client) as session:
        async with session.post(response_url, json=message, timeout=aiohttp.ClientTimeout(total=10)) as answer:
            if answer.status >= 400:
                raise SlackApiError(f"response_url refused the answer ({answer.status})",
                                    {"error": f"response_url_{answer.status}"})


@contextlib.asynccontextmanager
async def http_session(client: AsyncWebClient):
    """The Web API client's HTTP session (kept-alive connections to Slack), else one of our own."""
    if client.session and not client.session.closed:
        yield client.session
        return
    async with aiohttp.ClientSession() as session:
        yield session


def _log(error: BaseException, doing: str) -> None:
    if explained(error):
        log.info("%s: %s", doing, error)
    else:
        log.error("%s failed", doing, exc_info=error)


def _message_view(message: dict) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": "CRM"},
            "close": {"type": "plain_text", "text": "Close"}, "blocks": message["blocks"]}


async def after_ack(it: Interaction, work: Callable[[Interaction], Awaitable[None]]) -> None:
    """Answer `it` with `work` once a slot is free."""
    async with it.surface.slots:
        await it.settle(work)


def acked(surface: Surface, work: Callable[[Interaction], Awaitable[None]]):
    """A Bolt listener for a button, menu or shortcut: ack at once, then `work`, answered in words."""
    async def listener(ack, body, client):
        await ack()
        surface.spawn(after_ack(Interaction(body, client, surface), work))
    return listener


Submitted = dict  # the ack of a form: {} to close it, or a response_action


def submission(surface: Surface, work: Callable[[Interaction], Awaitable[tuple[Submitted, Callable | None]]],
               aliases: dict[str, str] | None = None):
    """A Bolt listener for a form: `work` returns the ack and what to do after it (post the
    card, say); errors go next to their field (`aliases` maps a domain field to the block
    showing it, where they differ). Past SUBMISSION_BUDGET the form says it is still saving
    and the outcome follows as a direct message."""
    async def listener(ack, body, client):
        it = Interaction(body, client, surface, aliases=aliases)
        state = ((body.get("view") or {}).get("state") or {}).get("values") or {}
        saving = asyncio.ensure_future(_submit(it, work, state))
        try:
            saved = await asyncio.wait_for(asyncio.shield(saving), SUBMISSION_BUDGET)
        except asyncio.TimeoutError:
            await ack(**_form_problem(SLOW_SAVE, state))
            saving.add_done_callback(lambda done: surface.spawn(_report_late(it, done.result())))
            return
        await ack(**saved.response)
        if saved.after is not None:
            surface.spawn(_after(it, saved.after))
    return listener


@dataclass(frozen=True)
class _Saved:
    response: Submitted  # the form's ack
    after: Callable[[], Awaitable[None]] | None  # what follows the ack
    problem: str | None = None  # why nothing was saved, in words


async def _submit(it: Interaction, work, state: dict) -> _Saved:
    try:
        await it.identify()
        return _Saved(*await work(it))
    except Exception as error:  # noqa: BLE001 - every failure goes back into the form
        _log(error, "saving a form")
        problem = words_for(error)
        if not state:
            return _Saved(_form_problem(problem, state), None, problem)
        return _Saved({"response_action": "errors", "errors": form_errors(error, state, it.aliases)}, None, problem)


def _form_problem(text: str, state: dict) -> dict:
    """A problem told in the form: beside its first input, or in place of a form without inputs."""
    if state:
        return {"response_action": "errors", "errors": {_first_input(state): text}}
    return {"response_action": "update", "view": cards.notice_view("CRM", text)}


async def _after(it: Interaction, after: Callable[[], Awaitable[None]]) -> None:
    try:
        await after()
    except Exception as error:  # noqa: BLE001 - the data is saved; say what could not follow
        _log(error, "after saving a form")


async def _report_late(it: Interaction, saved: _Saved) -> None:
    """The outcome of a save that outlived its form's ack, told in a direct message."""
    if saved.response:  # not saved: the form would have shown why, but it had already answered
        why = saved.problem or "it needs another look"
        await _after(it, lambda: it.direct_message(cards.error_message(
            f"Your form was not saved: {why}. Please open it again.")))
    elif saved.after is not None:
        await _after(it, saved.after)


def form_errors(error: BaseException, state: dict, aliases: dict[str, str] | None = None) -> dict[str, str]:
    """`response_action: errors` wants block ids: each field at fault, else the first input."""
    aliases = aliases or {}
    if isinstance(error, EditConflict):
        named = error.fields
    elif isinstance(error, ValidationError):
        named = {error.field: error.message}
    else:
        named = {"": words_for(error)}
    errors: dict[str, str] = {}
    for name, text in named.items():
        block_id = aliases.get(name, name)
        block_id = block_id if block_id in state else _first_input(state)
        errors[block_id] = (errors[block_id] + " " + text if block_id in errors else text)[:2000]
    return errors


def _first_input(state: dict) -> str:
    return next(iter(state), "")


def options(surface: Surface, work: Callable[[Interaction], Awaitable[list[dict]]]):
    """A Bolt listener for an external select's options, answered in its ack (none on failure)."""
    async def listener(ack, body, client):
        it = Interaction(body, client, surface)

        async def load() -> list[dict]:
            await it.identify()
            return await work(it)
        try:
            found = await asyncio.wait_for(load(), SUBMISSION_BUDGET)
        except Exception as error:  # noqa: BLE001 - an empty menu, and the reason in the log
            _log(error, "loading options")
            found = []
        await ack(options=found)
    return listener


async def _slack_profile(client: AsyncWebClient, user_id: str) -> users.Profile | None:
    """The user's profile, or None when Slack does not answer in time (the answer cannot wait)."""
    try:
        response = await asyncio.wait_for(client.users_info(user=user_id, include_locale=True), PROFILE_TIMEOUT)
    except SlackApiError as error:
        log.warning("users.info for %s failed: %s", user_id, error.response.get("error"))
        return None
    except (asyncio.TimeoutError, OSError) as error:
        log.warning("users.info for %s did not answer: %r", user_id, error)
        return None
    user = response["user"]
    profile = user.get("profile", {})
    return users.Profile(
        name=profile.get("display_name") or user.get("real_name") or user.get("name", ""),
        email=profile.get("email"),
        tz=user.get("tz"),
        locale=user.get("locale"),
        is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
    )


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


class Listeners:
    """Decorators registering a module's handlers on `app`, acknowledged the surface's way:
    `@on.action("x")`, `@on.shortcut("y")`, `@on.submission("z")`."""

    def __init__(self, app, surface: Surface):
        self.app, self.surface = app, surface

    def action(self, action_id: str):
        return lambda work: self.app.action(action_id)(acked(self.surface, work))

    def shortcut(self, callback_id: str):
        return lambda work: self.app.shortcut(callback_id)(acked(self.surface, work))

    def submission(self, callback_id: str):
        return lambda work: self.app.view(callback_id)(submission(self.surface, work))
