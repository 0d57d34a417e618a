"""Fetching a file someone shared in Slack: files.info, then its `url_private` with the bot token.

The token is sent only to Slack's own file hosts (SLACK_API_URL's host, files.slack.com), never
to a URL taken from a message, and redirects are not followed with it. The size is checked
before reading (files.info, Content-Length) and while reading, so a file over the cap is never
held whole in memory.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.surface import http_session
from crm.errors import ValidationError

DOWNLOAD_TIMEOUT = 120  # seconds for the whole file
CHUNK = 64 * 1024
SLACK_FILE_HOST = "files.slack.com"


@dataclass(frozen=True)
class SlackFile:
    id: str
    name: str
    content_type: str
    data: bytes


def trusted(url: str, api_url: str) -> bool:
    """Whether `url` is one of Slack's own file URLs, to which the bot token may be sent."""
    target, api = urlsplit(url), urlsplit(api_url)
    return (target.scheme, target.netloc) in {(api.scheme, api.netloc), ("https", SLACK_FILE_HOST)}


async def fetch(client: AsyncWebClient, api_url: str, file_id: str,
                check_size: Callable[[str, int], None]) -> SlackFile:
    """The file `file_id` with its bytes; `check_size(name, size)` refuses one over the cap.
    A file that cannot be had is a ValidationError on the form's `file` field, in words."""
    try:
        info = (await client.files_info(file=file_id))["file"]
    except SlackApiError as error:
        raise ValidationError("file", f"Slack would not show the file {file_id} "
                                      f"({error.response.get('error')}).") from None
    name = info.get("name") or info.get("title") or file_id
    check_size(name, int(info.get("size") or 0))
    url = info.get("url_private_download") or info.get("url_private") or ""
    if not trusted(url, api_url):
        raise ValidationError("file", f"{name} is not kept by Slack itself, so it was not downloaded.")
    data = await _download(client, url, name, check_size)
    return SlackFile(file_id, name, info.get("mimetype") or "", data)


async def _download(client: AsyncWebClient, url: str, name: str, check_size: Callable[[str, int], None]) -> bytes:
    try:
        async with http_session(client) as session:
            async with session.get(url, headers={"Authorization": f"Bearer {client.token}"}, allow_redirects=False,
                                   timeout=aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT)) as response:
                if response.status != 200:
                    raise ValidationError("file", f"Slack did not hand over {name} (HTTP {response.status}). "
                                                  "Please try again.")
                if response.content_length is not None:
                    check_size(name, response.content_length)
                chunks, size = [], 0
                async for chunk in response.content.iter_chunked(CHUNK):
                    size += len(chunk)
                    check_size(name, size)
                    chunks.append(chunk)
                return b"".join(chunks)
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        raise ValidationError("file", f"{name} could not be downloaded from Slack ({type(error).__name__}). "
                                      "Please try again.") from None
