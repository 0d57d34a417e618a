"""A TCP proxy for tests: put it between the app and PostgreSQL (or any TCP server) to make
the server freeze, die or refuse connections through a real socket, without patching code.

    async with TcpProxy("127.0.0.1", 5432) as proxy:
        connection = await asyncpg.connect(proxy.url_for(database_url))
        proxy.freeze()        # nothing moves any more, in either direction
        proxy.thaw()          # everything held back is delivered, in order
        await proxy.sever()   # every current connection is closed at once
        proxy.refuse()        # new connections are closed as soon as they are accepted

Each accepted connection runs as two tasks, one per direction (client to server, server to
client). A task reads one chunk, waits while the proxy is frozen, then writes it; while it
waits it reads nothing more, so the bytes held back are that chunk plus whatever the kernel
buffers behind it, and they come out in order on thaw(). A connection accepted while frozen
does not reach the server until thaw(), like a server that accepts but never answers.
When either direction ends (end of stream or error), both sockets are closed.
"""
from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

_CHUNK = 64 * 1024


class _Link:
    """One client connection: its socket, the server socket once open, and its two tasks."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.server: asyncio.StreamWriter | None = None
        self.tasks: set[asyncio.Task] = set()
        self.tail = b""  # the client's last bytes, for a pattern split across two reads
        self.closed = False

    def close(self) -> None:
        """Close both sockets once what is already written has been sent."""
        self.closed = True
        for writer in (self.client, self.server):
            if writer is not None:
                writer.transport.close()

    def abort(self) -> None:
        """Close both sockets at once, dropping anything not yet sent."""
        self.closed = True
        for writer in (self.client, self.server):
            if writer is not None:
                writer.transport.abort()


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._links: set[_Link] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._refusing = False
        self._stopped = False
        self._trigger: bytes | None = None

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> TcpProxy:
        # A plain callback, not a coroutine: each connection's task is created and recorded
        # here, synchronously, so that stop() can never miss one that has not started yet.
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Close the listener and every connection; no task of the proxy is left afterwards."""
        self._stopped = True
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self.sever()

    async def __aenter__(self) -> TcpProxy:
        return await self.start()

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()

    # -- faults -----------------------------------------------------------------------------

    @property
    def frozen(self) -> bool:
        return not self._flowing.is_set()

    @property
    def connections(self) -> int:
        """Client connections currently open through the proxy."""
        return len(self._links)

    def url_for(self, database_url: str) -> str:
        """`database_url` with its host and port replaced by the proxy's (user, password,
        database and query are kept)."""
        if not self.port:
            raise RuntimeError("the proxy is not started")
        parts = urlsplit(database_url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def freeze(self) -> None:
        """Stop forwarding bytes both ways on every connection, existing and new."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Forward again, starting with what was held back."""
        self._flowing.set()

    def refuse(self, on: bool = True) -> None:
        """While on, close each new connection as soon as it is accepted."""
        self._refusing = on

    def freeze_when(self, pattern: bytes) -> None:
        """Freeze as soon as a client sends `pattern`; the chunk that completes it is held
        back too. Fires once: after it has frozen the proxy, it is disarmed."""
        if not pattern:
            raise ValueError("an empty pattern would match at once")
        self._trigger = pattern
        for link in self._links:
            link.tail = b""

    async def sever(self) -> None:
        """Close every current connection abruptly, as a server that died would."""
        links, self._links = self._links, set()
        tasks = [task for link in links for task in link.tasks]
        for link in links:
            link.abort()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- forwarding -------------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing or self._stopped:
            writer.transport.abort()
            return
        link = _Link(writer)
        self._links.add(link)
        task = asyncio.get_running_loop().create_task(
            self._serve(link, reader), name=f"tcp-proxy-{self.port}-client"
        )
        link.tasks.add(task)

    async def _serve(self, link: _Link, client: asyncio.StreamReader) -> None:
        try:
            await self._flowing.wait()
            try:
                server, link.server = await asyncio.open_connection(self.target_host, self.target_port)
            except OSError:
                return  # the target is down: the client sees its connection closed
            back = asyncio.get_running_loop().create_task(
                self._pump(link, server, link.client, watch=False), name=f"tcp-proxy-{self.port}-server"
            )
            link.tasks.add(back)
            await self._pump(link, client, link.server, watch=True)
            await back  # ends at once: _pump has closed both sockets
        finally:
            link.close()
            self._links.discard(link)

    async def _pump(
        self, link: _Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter, watch: bool
    ) -> None:
        """Copy `source` to `sink` until either ends, then close both sides of `link`.
        `watch`: match these bytes (the client's) against freeze_when's pattern."""
        try:
            while True:
                chunk = await source.read(_CHUNK)
                if link.closed:
                    break  # the other direction ended, or sever(): nothing to hold back
                if watch and chunk:
                    self._watch(link, chunk)
                await self._flowing.wait()
                if not chunk:
                    break
                sink.write(chunk)
                await sink.drain()
        except OSError:  # a reset on either side
            link.abort()
        finally:
            link.close()

    def _watch(self, link: _Link, chunk: bytes) -> None:
        pattern = self._trigger
        if pattern is None:
            return
        window = link.tail + chunk
        link.tail = window[max(0, len(window) - len(pattern) + 1) :]
        if pattern in window:
            self._trigger = None
            self.freeze()
