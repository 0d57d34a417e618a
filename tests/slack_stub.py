"""A local stand-in for Slack: Web API methods, file hosting, response_url endpoints and
the Socket Mode websocket.

Slack cannot be reached from tests, so the app's WebClient is pointed at
`SlackStub.api_url` (SLACK_API_URL). The stub answers like Slack does, records
every call so tests can assert on what the app sent, and can be told to fail.

Socket Mode: apps.connections.open (app-level token only) hands out a ws:// URL on
the stub; the stub greets each connection with `hello`, pushes envelopes with
`socket_send()` and records the app's acks in `socket_acks`. aiohttp's autoping
answers the client's `sdk-ping-pong` pings, so slack_sdk never finds the link stale.

Block Kit: like Slack, the stub refuses views (views.open/push/update/publish) and messages
(chat.postMessage/update/postEphemeral, response_url bodies) that break Block Kit's rules
(tests/block_kit.py), and records each refusal in `refusals`; so does a Socket Mode ack
carrying an invalid view or message, which Slack would show the user as an error.
`assert_nothing_refused()` fails a test on any of them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from aiohttp import WSCloseCode, WSMsgType, web

from tests.block_kit import message_problems, view_problems

TEAM_ID = "T0TEST"
TEAM_DOMAIN = "example"
APP_ID = "A0CRM"
BOT_USER_ID = "UBOT"
BOT_ID = "B0BOT"

# Fields Slack accepts as JSON strings inside form bodies; decoded so tests see structures.
JSON_ENCODED_FIELDS = frozenset({"attachments", "blocks", "files", "metadata", "unfurls", "view"})
# Methods Slack accepts only with an app-level token (xapp-...), which no other method accepts.
APP_LEVEL_METHODS = frozenset({"apps.connections.open"})
# Socket Mode envelope types, and the interactions whose ack may carry a response payload.
SOCKET_ENVELOPE_TYPES = frozenset({"slash_commands", "interactive", "events_api"})
INTERACTIONS_ANSWERED_IN_ACK = frozenset({"view_submission", "block_suggestion"})
# Methods whose `view` Slack checks as Block Kit, and the view type each takes.
VIEW_METHODS = {"views.open": "modal", "views.push": "modal", "views.update": "modal", "views.publish": "home"}
# Methods whose arguments Slack checks as a Block Kit message.
MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
# Ack `response_action`s that show a view (a modal).
VIEW_RESPONSE_ACTIONS = frozenset({"update", "push"})


@dataclass
class Call:
    """One Web API request as the stub received it."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]

    @property
    def token(self) -> str | None:
        """The bearer token, or a `token` argument, the call was made with."""
        authorization = next((v for k, v in self.headers.items() if k.lower() == "authorization"), "")
        scheme, _, token = authorization.partition(" ")
        return token if scheme == "Bearer" and token else self.args.get("token")


@dataclass
class Response:
    """One JSON body POSTed to a `response_url` handed out by the stub."""

    name: str
    body: dict[str, Any]


@dataclass
class Refusal:
    """A payload the stub refused as invalid Block Kit, as Slack would."""

    method: str  # the Web API method, "response_url" or "socket_ack"
    problems: list[str]


@dataclass
class UploadedFile:
    """A file completed through files.completeUploadExternal."""

    id: str
    filename: str
    title: str
    content: bytes
    channel_id: str | None
    initial_comment: str | None
    url_private: str | None = None  # where files.info says it is: the stub's /files/ID unless set
    mimetype: str = "application/octet-stream"
    reported_size: int | None = None  # the size files.info tells, when it is not the content's


@dataclass
class _Failure:
    error: str
    status: int


@dataclass
class _PendingUpload:
    filename: str
    content: bytes = b""


Handler = Callable[[dict[str, Any]], dict[str, Any]]


class SlackStub:
    """An aiohttp server on 127.0.0.1 (free port) answering like slack.com.

    Use as `async with SlackStub() as slack:` or call `start()` / `stop()`.
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responses: list[Response] = []
        self.files: dict[str, UploadedFile] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.socket_acks: list[dict[str, Any]] = []
        self.downloads: list[Call] = []  # GETs of /files/ID, with the headers they came with
        self.download_status: dict[str, int] = {}  # file id -> the HTTP error its download answers
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message, for conversations.replies
        self.refusals: list[Refusal] = []
        self._sockets: list[web.WebSocketResponse] = []  # the app's open connections, newest last
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._uploads: dict[str, _PendingUpload] = {}
        self._serial = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""  # "http://127.0.0.1:PORT/" once started
        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.unfurl": lambda args: {},
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_show,
            "views.push": self._views_show,
            "views.update": self._views_show,
            "views.publish": self._views_publish,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.info": self._files_info,
            "conversations.replies": self._conversations_replies,
        }

    # -- lifecycle -------------------------------------------------------

    async def start(self) -> SlackStub:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle_api)
        app.router.add_get("/api/{method}", self._handle_api)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_get("/files/{file_id}", self._handle_download)
        app.router.add_post("/response/{name}", self._handle_response_url)
        app.router.add_get("/socket/{connection}", self._handle_socket)
        app.on_shutdown.append(self._close_sockets)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackStub:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- test-facing API -------------------------------------------------

    @property
    def api_url(self) -> str:
        """Base URL for WebClient / SLACK_API_URL: methods are appended to it."""
        return self.base_url + "api/"

    def response_url(self, name: str = "default") -> str:
        """A response_url whose POSTs land in `self.responses` under `name`."""
        return f"{self.base_url}response/{name}"

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until `method` was called `count` times: app listeners keep running after ack()."""
        await _wait_until(
            lambda: len(self.calls_to(method)) >= count,
            timeout,
            lambda: f"expected {count} call(s) to {method}, saw {[c.method for c in self.calls]}",
        )
        return self.calls_to(method)

    async def wait_for_response(self, count: int = 1, timeout: float = 5.0) -> list[Response]:
        await _wait_until(
            lambda: len(self.responses) >= count,
            timeout,
            lambda: f"expected {count} response_url post(s), saw {self.responses}",
        )
        return self.responses

    def fail_next(self, method: str, error: str = "ratelimited", status: int = 200) -> None:
        """Make the next call to `method` answer `{"ok": false, "error": error}` with `status`."""
        self._failures[method].append(_Failure(error, status))

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        tz: str = "Europe/Paris",
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        is_admin: bool = False,
        email: str | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """Register a user for users.info (the stub knows nobody by default)."""
        name = name or user_id.lower()
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": name,
            "deleted": False,
            "tz": tz,
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "is_admin": is_admin,
            "is_owner": False,
            "is_bot": False,
            "is_app_user": False,
            "is_restricted": is_restricted,
            "is_ultra_restricted": is_ultra_restricted,
            "profile": {"real_name": name, "display_name": name, "email": email, "team": TEAM_ID},
            "locale": locale,
        }
        return self.users[user_id]

    def assert_nothing_refused(self) -> None:
        """Fail with every problem of every payload refused as invalid Block Kit."""
        if self.refusals:
            lines = [f"{refusal.method}: {problem}" for refusal in self.refusals for problem in refusal.problems]
            raise AssertionError("Slack would have refused invalid Block Kit:\n" + "\n".join(lines))

    def reset(self) -> None:
        """Forget recorded traffic, refusals, queued failures and files; registered users stay."""
        self.calls.clear()
        self.responses.clear()
        self.socket_acks.clear()
        self.refusals.clear()
        self.files.clear()
        self.downloads.clear()
        self.download_status.clear()
        self.messages.clear()
        self._uploads.clear()
        self._failures.clear()

    # -- Socket Mode -----------------------------------------------------

    async def wait_for_socket_connection(self, timeout: float = 10.0) -> None:
        """Wait until the app holds a Socket Mode connection open (it connects during start-up)."""
        await _wait_until(
            lambda: bool(self._sockets),
            timeout,
            lambda: f"no Socket Mode connection; {len(self.calls_to('apps.connections.open'))} apps.connections.open",
        )

    async def socket_send(self, envelope_type: str, payload: dict[str, Any]) -> str:
        """Push `payload` to the connected app in an envelope, as Slack does; returns its envelope_id.

        `payload` is what HTTP mode would post, as a dict: the form fields of a slash command,
        the decoded `payload` of an interaction, the JSON body of an Events API callback.
        """
        if envelope_type not in SOCKET_ENVELOPE_TYPES:
            raise ValueError(f"Slack sends no {envelope_type!r} envelopes; use one of {sorted(SOCKET_ENVELOPE_TYPES)}")
        if not self._sockets:
            raise AssertionError("no app is connected in Socket Mode")
        envelope = _envelope(envelope_type, payload)
        await self._sockets[-1].send_json(envelope)
        return envelope["envelope_id"]

    async def wait_for_socket_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The app's ack of `envelope_id`: `{"envelope_id": ..., "payload": {...}}`, payload optional."""
        await _wait_until(
            lambda: self._socket_ack(envelope_id) is not None,
            timeout,
            lambda: f"no ack for envelope {envelope_id}; acks: {self.socket_acks}",
        )
        return self._socket_ack(envelope_id)

    def _socket_ack(self, envelope_id: str) -> dict[str, Any] | None:
        return next((ack for ack in self.socket_acks if ack.get("envelope_id") == envelope_id), None)

    # -- HTTP handlers ---------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = Call(method, await _read_args(request), dict(request.headers))
        self.calls.append(call)
        if not call.token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if (method in APP_LEVEL_METHODS) != call.token.startswith("xapp-"):
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        if self._failures[method]:
            failure = self._failures[method].popleft()
            headers = {"Retry-After": "1"} if failure.status == 429 else None
            return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=headers)
        handler = self._methods.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        refused = self._refuse_invalid_block_kit(method, call.args)
        if refused is not None:
            return web.json_response(refused)
        try:
            result = handler(call.args)
        except _SlackError as error:
            return web.json_response({"ok": False, "error": str(error)})
        return web.json_response({"ok": True, **result})

    async def _handle_upload(self, request: web.Request) -> web.Response:
        """The upload_url step of files_upload_v2: raw bytes or a multipart file part."""
        upload = self._uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="file_not_found")
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = next(value for value in form.values() if isinstance(value, web.FileField))
            upload.content = part.file.read()
        else:
            upload.content = await request.read()
        return web.Response(text=f"OK - {len(upload.content)}")

    async def _handle_download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        self.downloads.append(Call(file_id, dict(request.query), dict(request.headers)))
        uploaded = self.files.get(file_id)
        if uploaded is None:
            return web.Response(status=404, text="file_not_found")
        if file_id in self.download_status:
            return web.Response(status=self.download_status[file_id], text="download failed")
        return web.Response(body=uploaded.content, content_type="application/octet-stream")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        """Slack answers an invalid message with HTTP 400 and the bare error as the body."""
        body = await request.json()
        if self._refused("response_url", message_problems(body)):
            return web.Response(status=400, text="invalid_blocks")
        self.responses.append(Response(request.match_info["name"], body))
        return web.Response(text="ok")

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        """One Socket Mode connection: Slack's `hello`, then every text frame from the app is an ack."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json(_hello())
        self._sockets.append(socket)
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    ack = json.loads(message.data)
                    self.socket_acks.append(ack)
                    payload = ack.get("payload") if isinstance(ack, dict) else None
                    self._check_ack_payload(payload if isinstance(payload, dict) else {})
        finally:
            self._sockets.remove(socket)
        return socket

    async def _close_sockets(self, app: web.Application) -> None:
        """Close connections still open at stop: the server waits for every handler to end."""
        for socket in list(self._sockets):
            await socket.close(code=WSCloseCode.GOING_AWAY)

    # -- Block Kit -------------------------------------------------------

    def _refuse_invalid_block_kit(self, method: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """Slack's answer when `args` hold invalid Block Kit, else None."""
        if method in VIEW_METHODS:
            error, problems = "invalid_arguments", view_problems(args.get("view"), surface=VIEW_METHODS[method])
        elif method in MESSAGE_METHODS:
            error, problems = "invalid_blocks", message_problems(args)
        else:
            return None
        if not self._refused(method, problems):
            return None
        return {"ok": False, "error": error, "response_metadata": {"messages": problems}}

    def _check_ack_payload(self, payload: dict[str, Any]) -> None:
        """A view shown by a view_submission ack, or a message answering a slash command."""
        if payload.get("response_action") in VIEW_RESPONSE_ACTIONS:
            self._refused("socket_ack", view_problems(payload.get("view"), surface="modal"))
        elif "response_action" not in payload and ("text" in payload or "blocks" in payload):
            self._refused("socket_ack", message_problems(payload))

    def _refused(self, method: str, problems: list[str]) -> bool:
        """Record a refusal when there are `problems`; whether there were."""
        if problems:
            self.refusals.append(Refusal(method, problems))
        return bool(problems)

    # -- Web API methods -------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Example",
            "user": "crm",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """A fresh websocket URL for every call, as Slack hands out (a reconnect asks again)."""
        return {"url": f"ws{self.base_url.removeprefix('http')}socket/{next(self._serial)}"}

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = self._new_ts()
        self.messages[(str(args.get("channel")), ts)] = _message(args, ts)
        return {"channel": args.get("channel"), "ts": ts, "message": _message(args, ts)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = args.get("ts")
        return {"channel": args.get("channel"), "ts": ts, "text": args.get("text", ""), "message": _message(args, ts)}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"message_ts": self._new_ts()}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": args.get("channel"), "ts": args.get("ts")}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args.get("channel"), str(args.get("message_ts", ""))
        permalink = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": permalink}

    def _views_show(self, args: dict[str, Any]) -> dict[str, Any]:
        """views.open / push get a new id; views.update keeps the one it names."""
        return {"view": self._view(args.get("view_id") or self._new_id("V"), args.get("view") or {})}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"view": self._view(self._new_id("V"), {"type": "home", **(args.get("view") or {})})}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", "")).split(",")
        return {"no_op": False, "already_open": False, "channel": {"id": "D" + users[0]}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args.get("user", ""))
        if user is None:
            raise _SlackError("user_not_found")
        if str(args.get("include_locale", "")).lower() not in ("1", "true"):
            user = {name: value for name, value in user.items() if name != "locale"}  # Slack's default
        return {"user": user}

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = self._new_id("F")
        self._uploads[file_id] = _PendingUpload(filename=args.get("filename", ""))
        return {"upload_url": f"{self.base_url}upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        channels = [c for c in str(args.get("channels", "")).split(",") if c]
        channel_id = args.get("channel_id") or (channels[0] if channels else None)
        completed = []
        for item in args.get("files") or []:
            upload = self._uploads.pop(item["id"], None)
            if upload is None:
                raise _SlackError("file_not_found")
            uploaded = UploadedFile(
                id=item["id"],
                filename=upload.filename,
                title=item.get("title") or upload.filename,
                content=upload.content,
                channel_id=channel_id,
                initial_comment=args.get("initial_comment"),
            )
            self.files[uploaded.id] = uploaded
            completed.append(self._file_object(uploaded))
        return {"files": completed}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """The first message of a thread (posted by the app, or put in `messages` by a test)."""
        root = self.messages.get((str(args.get("channel")), str(args.get("ts"))))
        if root is None:
            raise _SlackError("thread_not_found")
        return {"messages": [root], "has_more": False}

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        uploaded = self.files.get(args.get("file", ""))
        if uploaded is None:
            raise _SlackError("file_not_found")
        return {"file": self._file_object(uploaded)}

    # -- shapes ----------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._serial):08d}"

    def _new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._serial):06d}"

    def _view(self, view_id: str, submitted: dict[str, Any]) -> dict[str, Any]:
        """A view as Slack echoes it back: defaults, then what the app sent."""
        return {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{view_id}",
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
            **submitted,
        }

    def _file_object(self, uploaded: UploadedFile) -> dict[str, Any]:
        url = uploaded.url_private or f"{self.base_url}files/{uploaded.id}"
        return {
            "id": uploaded.id,
            "name": uploaded.filename,
            "title": uploaded.title,
            "user": BOT_USER_ID,
            "size": len(uploaded.content) if uploaded.reported_size is None else uploaded.reported_size,
            "mimetype": uploaded.mimetype,
            "url_private": url,
            "url_private_download": url,
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{uploaded.id}",
            "channels": [uploaded.channel_id] if uploaded.channel_id else [],
        }


class _SlackError(Exception):
    """Raised by a method handler to answer `{"ok": false, "error": <message>}`."""


def _hello() -> dict[str, Any]:
    """The first message Slack sends on a new Socket Mode connection."""
    return {
        "type": "hello",
        "num_connections": 1,
        "debug_info": {"host": "applink-stub", "build_number": 1, "approximate_connection_time": 18060},
        "connection_info": {"app_id": APP_ID},
    }


def _envelope(envelope_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A Socket Mode envelope; `accepts_response_payload` says whether the ack may answer."""
    if envelope_type == "interactive":
        answerable = payload.get("type") in INTERACTIONS_ANSWERED_IN_ACK
    else:
        answerable = envelope_type == "slash_commands"
    envelope = {
        "envelope_id": str(uuid.uuid4()),
        "type": envelope_type,
        "payload": payload,
        "accepts_response_payload": answerable,
    }
    if envelope_type == "events_api":
        envelope.update(retry_attempt=0, retry_reason="")
    return envelope


def _message(args: dict[str, Any], ts: str | None) -> dict[str, Any]:
    """The message object Slack returns for a post or an update."""
    echoed = {key: args[key] for key in ("blocks", "attachments", "thread_ts", "metadata") if key in args}
    sender = {"user": BOT_USER_ID, "bot_id": BOT_ID, "team": TEAM_ID}
    return {"type": "message", **sender, "ts": ts, "text": args.get("text", ""), **echoed}


async def _read_args(request: web.Request) -> dict[str, Any]:
    """Merge query string and body (JSON or form), decoding JSON-encoded form fields."""
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        args.update(await request.json())
    elif request.can_read_body:
        args.update(await request.post())
    for key in JSON_ENCODED_FIELDS & args.keys():
        if isinstance(args[key], str):
            args[key] = json.loads(args[key])
    return args


async def _wait_until(condition: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
    """Poll `condition` (cheap, loop-agnostic) until true or fail with `describe()`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"{describe()} (after {timeout}s)")
        await asyncio.sleep(0.005)
