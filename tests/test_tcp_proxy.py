"""The test proxy (tests/tcp_proxy.py) against a plain echo server, and against PostgreSQL
through asyncpg: what a client sees when the server freezes, dies or refuses connections.

The PostgreSQL tests need the server of CRM_TEST_DATABASE when that is a postgres:// URL,
else postgres://postgres@127.0.0.1:5432/test; if it cannot be reached they fail, never skip.
"""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres_only

_SUITE_SERVER = os.environ.get("CRM_TEST_DATABASE", "")
PG_URL = _SUITE_SERVER if _SUITE_SERVER.startswith("postgres") else "postgres://postgres@127.0.0.1:5432/test"
QUIET = 0.3  # how long "nothing arrives" is watched for


def proxy_tasks() -> list[asyncio.Task]:
    return [task for task in asyncio.all_tasks() if task.get_name().startswith("tcp-proxy-") and not task.done()]


async def eventually(check, seconds: float = 5.0) -> None:
    """Wait until `check()` (sync or async) is true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"still false after {seconds}s: {check}")
        await asyncio.sleep(0.02)


async def within(awaitable, seconds: float = 5.0):
    """Await a proxy call that must not hang (a hung proxy fails the test instead)."""
    return await asyncio.wait_for(awaitable, seconds)


async def read_exactly(reader: asyncio.StreamReader, count: int, seconds: float = 5.0) -> bytes:
    return await asyncio.wait_for(reader.readexactly(count), seconds)


async def nothing_arrives(reader: asyncio.StreamReader) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(1), QUIET)
    except TimeoutError:
        return True
    raise AssertionError(f"expected nothing, got {data!r}")


async def closed_by_peer(reader: asyncio.StreamReader) -> bool:
    """The other end closed the connection (end of stream or reset) within 2 s."""
    try:
        return await asyncio.wait_for(reader.read(1), 2) == b""
    except ConnectionResetError:
        return True


async def echoes(port: int, data: bytes) -> bool:
    """A new connection to `port` gets `data` sent back."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
    try:
        writer.write(data)
        return await read_exactly(reader, len(data)) == data
    finally:
        writer.transport.abort()


class EchoServer:
    """Sends back every byte it gets; records what each connection received."""

    def __init__(self) -> None:
        self.received: list[bytearray] = []
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> EchoServer:
        self._server = await asyncio.start_server(self._echo, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _echo(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())
        self._writers.add(writer)
        received = bytearray()
        self.received.append(received)
        try:
            while chunk := await reader.read(65536):
                received += chunk
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)

    def push(self, data: bytes) -> None:
        """Send `data` to every open connection unasked."""
        for writer in self._writers:
            writer.write(data)

    @property
    def open_connections(self) -> int:
        return len(self._writers)

    async def stop(self) -> None:
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@pytest.fixture
async def echo():
    server = await EchoServer().start()
    yield server
    await server.stop()


async def _stopped_cleanly(proxy: TcpProxy) -> None:
    await within(proxy.stop())
    assert proxy.connections == 0
    assert proxy_tasks() == [], "the proxy left tasks running after stop()"


@pytest.fixture
async def proxy(echo):
    proxy = await within(TcpProxy("127.0.0.1", echo.port).start())
    yield proxy
    await _stopped_cleanly(proxy)


@pytest.fixture
async def client(proxy):
    """A connection to the echo server through the proxy."""
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    yield reader, writer
    writer.transport.abort()


# -- echo server ---------------------------------------------------------------------------


async def test_bytes_go_through_both_ways(echo, proxy, client):
    reader, writer = client
    writer.write(b"hello")
    assert await read_exactly(reader, 5) == b"hello"
    assert echo.received == [bytearray(b"hello")]
    assert proxy.connections == 1


async def test_frozen_bytes_are_held_then_delivered_in_order_on_thaw(echo, proxy, client):
    reader, writer = client
    writer.write(b"before-")
    assert await read_exactly(reader, 7) == b"before-"
    proxy.freeze()
    assert proxy.frozen
    for part in (b"one-", b"two-", b"three"):
        writer.write(part)
        await writer.drain()
        await asyncio.sleep(0.02)  # separate reads on the proxy's side
    assert await nothing_arrives(reader)
    assert bytes(echo.received[0]) == b"before-", "the server got bytes while frozen"
    proxy.thaw()
    assert not proxy.frozen
    assert await read_exactly(reader, 13) == b"one-two-three"
    assert bytes(echo.received[0]) == b"before-one-two-three"


async def test_server_bytes_are_held_too(echo, proxy, client):
    reader, writer = client
    writer.write(b"hi")
    assert await read_exactly(reader, 2) == b"hi"
    proxy.freeze()
    echo.push(b"news")  # the server speaks first: the freeze holds this direction as well
    assert await nothing_arrives(reader)
    proxy.thaw()
    assert await read_exactly(reader, 4) == b"news"


async def test_a_megabyte_in_small_writes_keeps_its_order_across_freezes(proxy, client):
    reader, writer = client
    payload = os.urandom(1 << 20)

    async def send() -> None:
        for offset in range(0, len(payload), 7919):
            writer.write(payload[offset : offset + 7919])
            await writer.drain()

    sender = asyncio.create_task(send())
    received = bytearray()
    rounds = 0
    try:
        while len(received) < len(payload):
            received += await asyncio.wait_for(reader.read(65536), 5)
            rounds += 1
            if rounds % 5 == 0:
                proxy.freeze()
                await asyncio.sleep(0.01)
                proxy.thaw()
        await sender
    finally:
        sender.cancel()
    assert bytes(received) == payload


async def test_a_connection_made_while_frozen_is_accepted_but_reaches_nothing(echo, proxy):
    proxy.freeze()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", proxy.port), 2)
    try:
        writer.write(b"anyone?")
        assert await nothing_arrives(reader)
        assert proxy.connections == 1
        assert echo.received == [], "a frozen proxy opened a connection to the server"
        proxy.thaw()
        assert await read_exactly(reader, 7) == b"anyone?"
    finally:
        writer.transport.abort()


async def test_freeze_when_catches_a_pattern_split_across_two_reads(echo, proxy, client):
    reader, writer = client
    proxy.freeze_when(b"COMMIT")
    writer.write(b"xxCOM")
    assert await read_exactly(reader, 5) == b"xxCOM"  # the first half went through on its own
    assert not proxy.frozen
    writer.write(b"MITyy")
    await eventually(lambda: proxy.frozen)
    assert await nothing_arrives(reader)
    assert bytes(echo.received[0]) == b"xxCOM", "the chunk completing the pattern reached the server"
    proxy.thaw()
    assert await read_exactly(reader, 5) == b"MITyy"
    assert bytes(echo.received[0]) == b"xxCOMMITyy"


async def test_freeze_when_holds_the_chunk_and_fires_once(echo, proxy, client):
    reader, writer = client
    proxy.freeze_when(b"COMMIT")
    writer.write(b"BEGIN;")
    assert await read_exactly(reader, 6) == b"BEGIN;"
    writer.write(b"INSERT;COMMIT;")
    await eventually(lambda: proxy.frozen)
    assert bytes(echo.received[0]) == b"BEGIN;"
    proxy.thaw()
    assert await read_exactly(reader, 14) == b"INSERT;COMMIT;"
    writer.write(b"COMMIT;")
    assert await read_exactly(reader, 7) == b"COMMIT;"
    assert not proxy.frozen


async def test_freeze_when_does_not_match_bytes_apart(echo, proxy, client):
    reader, writer = client
    proxy.freeze_when(b"COMMIT")
    for part in (b"COM", b"-", b"MIT"):
        writer.write(part)
        assert await read_exactly(reader, len(part)) == part
    assert not proxy.frozen


async def test_sever_closes_every_connection_and_new_ones_still_work(echo, proxy, client):
    reader, writer = client
    writer.write(b"x")
    assert await read_exactly(reader, 1) == b"x"
    await within(proxy.sever())
    assert proxy.connections == 0
    assert await closed_by_peer(reader)
    await eventually(lambda: echo.open_connections == 0)
    assert await echoes(proxy.port, b"again")


async def test_sever_while_frozen_drops_what_was_held(echo, proxy, client):
    reader, writer = client
    proxy.freeze()
    writer.write(b"lost")
    await asyncio.sleep(0.05)
    await within(proxy.sever())
    proxy.thaw()
    assert await closed_by_peer(reader)
    assert echo.received == [bytearray()]


async def test_refused_connections_are_closed_at_once(echo, proxy):
    proxy.refuse()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        writer.write(b"hello")
        assert await closed_by_peer(reader)
        assert proxy.connections == 0
        assert echo.received == []
    finally:
        writer.transport.abort()
    proxy.refuse(False)
    assert await echoes(proxy.port, b"back")


async def test_a_client_that_leaves_is_no_longer_counted(echo, proxy):
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"bye")
    assert await read_exactly(reader, 3) == b"bye"
    assert proxy.connections == 1
    writer.close()
    await writer.wait_closed()
    await eventually(lambda: proxy.connections == 0)
    await eventually(lambda: echo.open_connections == 0)


async def test_a_target_that_is_down_closes_the_client(echo):
    await echo.stop()  # nothing listens on its port any more
    async with TcpProxy("127.0.0.1", echo.port) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        try:
            assert await closed_by_peer(reader)
        finally:
            writer.transport.abort()
        await eventually(lambda: proxy.connections == 0)
    assert proxy_tasks() == []


async def test_stop_closes_held_connections_and_leaves_no_task(echo):
    proxy = await within(TcpProxy("127.0.0.1", echo.port).start())
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"a")
    assert await read_exactly(reader, 1) == b"a"
    proxy.freeze()
    writer.write(b"held")
    late_reader, late_writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    await eventually(lambda: proxy.connections == 2)
    assert proxy_tasks() != []
    await _stopped_cleanly(proxy)
    for r, w in ((reader, writer), (late_reader, late_writer)):
        assert await closed_by_peer(r)
        w.transport.abort()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", proxy.port)


def test_url_for_swaps_host_and_port_only():
    proxy = TcpProxy("db.example", 5432)
    proxy.port = 40001
    assert proxy.url_for("postgres://postgres@127.0.0.1:5432/test") == "postgres://postgres@127.0.0.1:40001/test"
    assert (
        proxy.url_for("postgresql://me:s%40cret@db.example:6543/crm?sslmode=disable")
        == "postgresql://me:s%40cret@127.0.0.1:40001/crm?sslmode=disable"
    )
    assert proxy.url_for("postgres://db.example/crm") == "postgres://127.0.0.1:40001/crm"


# -- PostgreSQL through asyncpg --------------------------------------------------------------


@pytest.fixture
async def direct():
    """A connection straight to the server, not through the proxy."""
    try:
        connection = await asyncpg.connect(PG_URL, timeout=5)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        pytest.fail(f"PostgreSQL at {PG_URL} cannot be reached ({error!r}); these tests need it and never skip")
    yield connection
    await connection.close()


@pytest.fixture
async def pg_proxy(direct):
    parts = urlsplit(PG_URL)
    proxy = await within(TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start())
    yield proxy
    proxy.thaw()
    await _stopped_cleanly(proxy)


@pytest.fixture
async def connect(pg_proxy):
    """Opens asyncpg connections through the proxy; all are terminated afterwards."""
    opened: list[asyncpg.Connection] = []

    async def open_one(**kwargs) -> asyncpg.Connection:
        kwargs.setdefault("timeout", 5)
        connection = await asyncpg.connect(pg_proxy.url_for(PG_URL), **kwargs)
        opened.append(connection)
        return connection

    yield open_one
    for connection in opened:
        connection.terminate()


async def _count(connection: asyncpg.Connection, table: str, expected: int) -> bool:
    return await connection.fetchval(f"SELECT count(*) FROM {table}") == expected


@pytest.fixture
async def table(direct):
    name = f"tcp_proxy_{uuid.uuid4().hex[:12]}"
    await direct.execute(f"CREATE TABLE {name} (id integer PRIMARY KEY)")
    yield name
    await direct.execute("SET lock_timeout = '10s'")
    await direct.execute(f"DROP TABLE IF EXISTS {name}")


async def test_a_query_goes_through_the_proxy(pg_proxy, connect):
    url = pg_proxy.url_for(PG_URL)
    assert urlsplit(url).port == pg_proxy.port != urlsplit(PG_URL).port
    connection = await connect()
    assert await connection.fetchval("SELECT 41 + 1") == 42
    assert pg_proxy.connections == 1


async def test_a_frozen_server_times_queries_and_connections_out(pg_proxy, connect):
    connection = await connect()
    assert await connection.fetchval("SELECT 1") == 1
    pg_proxy.freeze()
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await connection.fetchval("SELECT 1", timeout=0.5)
    assert time.monotonic() - started < 2
    with pytest.raises(asyncio.TimeoutError):
        await connect(timeout=0.5)  # accepted, but the handshake never gets an answer
    pg_proxy.thaw()
    fresh = await connect(timeout=5)
    assert await fresh.fetchval("SELECT 2") == 2


async def test_command_timeout_fires_on_a_frozen_server_and_gives_the_connection_up(pg_proxy, connect):
    connection = await connect(command_timeout=0.5)
    pg_proxy.freeze()
    with pytest.raises(asyncio.TimeoutError):
        await connection.fetchval("SELECT 1")
    # The cancel request asyncpg then sends goes through a new connection, frozen as well;
    # command_timeout also bounds it, and asyncpg then closes the connection for good.
    await eventually(connection.is_closed, seconds=3)
    pg_proxy.thaw()
    with pytest.raises(asyncpg.InterfaceError):
        await connection.fetchval("SELECT 1")


async def test_a_severed_connection_fails_its_next_query(pg_proxy, connect):
    connection = await connect()
    assert await connection.fetchval("SELECT 1") == 1
    await within(pg_proxy.sever())
    with pytest.raises((asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError)):
        await connection.fetchval("SELECT 1", timeout=5)
    assert connection.is_closed()
    assert pg_proxy.connections == 0
    fresh = await connect(timeout=5)
    assert await fresh.fetchval("SELECT 3") == 3


async def test_refused_connections_fail_fast(pg_proxy, connect):
    pg_proxy.refuse()
    started = time.monotonic()
    with pytest.raises(ConnectionError):  # asyncpg: "unexpected connection_lost() call"
        await connect(timeout=1)
    assert time.monotonic() - started < 0.5
    pg_proxy.refuse(False)
    assert await (await connect(timeout=5)).fetchval("SELECT 4") == 4


async def commit_held_back(connection, proxy: TcpProxy, direct, table: str) -> None:
    """Insert a row in a transaction and have its COMMIT held by the proxy: the client
    times out, and the server still sees the session idle in its open transaction."""
    transaction = connection.transaction()
    await transaction.start()
    await connection.execute(f"INSERT INTO {table} VALUES (1)")
    proxy.freeze_when(b"COMMIT")
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(transaction.commit(), 0.5)
    assert proxy.frozen
    state = await direct.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", connection.get_server_pid())
    assert state == "idle in transaction"
    assert await direct.fetchval(f"SELECT count(*) FROM {table}") == 0


async def test_a_commit_held_by_a_frozen_server_times_out_and_lands_on_thaw(pg_proxy, connect, direct, table):
    """The client gives up on COMMIT, yet the server commits once the bytes arrive: a
    timed-out COMMIT means "outcome unknown", not "rolled back"."""
    connection = await connect()
    await commit_held_back(connection, pg_proxy, direct, table)
    pg_proxy.thaw()
    await eventually(lambda: _count(direct, table, 1))
    # The same connection settles (asyncpg waits for the server's answer to the abandoned
    # COMMIT and to its cancel request) and is usable again.
    assert await connection.fetchval(f"SELECT count(*) FROM {table}", timeout=5) == 1


async def test_a_commit_held_when_the_server_dies_is_rolled_back(pg_proxy, connect, direct, table):
    """The server never got the COMMIT: when the connection dies, the transaction is gone."""
    connection = await connect()
    backend = connection.get_server_pid()
    await commit_held_back(connection, pg_proxy, direct, table)
    await within(pg_proxy.sever())
    pg_proxy.thaw()

    async def backend_gone() -> bool:
        return not await direct.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", backend)

    await eventually(backend_gone)
    assert await direct.fetchval(f"SELECT count(*) FROM {table}") == 0
    with pytest.raises((asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError)):
        await connection.fetchval("SELECT 1", timeout=5)


async def test_a_pool_with_command_timeout_gives_up_in_bounded_time_and_recovers(pg_proxy):
    pool = await asyncpg.create_pool(pg_proxy.url_for(PG_URL), min_size=1, max_size=2, command_timeout=0.5, timeout=0.5)
    try:
        assert await pool.fetchval("SELECT 1") == 1
        pg_proxy.freeze()
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await pool.fetchval("SELECT 1")
        # 0.5 s for the query, up to 0.5 s more for the cancel request, then the pool drops it.
        assert time.monotonic() - started < 2
        pg_proxy.thaw()
        assert await pool.fetchval("SELECT 5", timeout=5) == 5
        await within(pg_proxy.sever())
        # An idle pooled connection the server dropped fails at most one call; the pool
        # then reconnects on its own.
        try:
            assert await pool.fetchval("SELECT 6", timeout=5) == 6
        except asyncpg.ConnectionDoesNotExistError:
            assert await pool.fetchval("SELECT 6", timeout=5) == 6
    finally:
        pg_proxy.thaw()
        pool.terminate()


async def test_a_pool_without_command_timeout_outlives_its_query_timeout(pg_proxy):
    """Pinned asyncpg behaviour: `timeout=` bounds the query, not the call. After the
    timeout, returning the connection to the pool waits for the cancel request, which a
    frozen server never answers; only thaw (or command_timeout) ends the call."""
    pool = await asyncpg.create_pool(pg_proxy.url_for(PG_URL), min_size=1, max_size=2, timeout=5)
    try:
        assert await pool.fetchval("SELECT 1") == 1
        pg_proxy.freeze()
        call = asyncio.create_task(pool.fetchval("SELECT 1", timeout=0.5))
        await asyncio.sleep(1.5)
        assert not call.done(), "asyncpg now returns a pool call within its timeout: revisit"
        pg_proxy.thaw()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(call, 5)
        assert await pool.fetchval("SELECT 7", timeout=5) == 7
    finally:
        pg_proxy.thaw()
        pool.terminate()
