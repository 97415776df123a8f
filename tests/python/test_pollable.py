"""Pollable mode from Python (issue 17): connections of every transport
driven from one `selectors` loop, and from asyncio through `epode.aio`,
against both servers."""
import asyncio
import selectors
import time

import epode
from epode.aio import Driver


def services(server):
    tls = {"ca_file": server["XMPP_CA_FILE"]}
    return [
        (server["XMPP_WS_URL"], {}),
        (server["XMPP_BOSH_URL"], {}),
        (f"tcp://127.0.0.1:{server['XMPP_C2S_PORT']}", tls),
    ]


def pollable(server, recorder, user, service, extra):
    """A pollable connection whose login is under way, and its recorder:
    connect() posts the login and returns before any status."""
    rec, got = recorder(), []
    conn = epode.Connection(service, pollable=True, **extra)
    conn.add_handler(lambda st: (got.append(st.find_text("body")), True)[1], name="message")
    conn.connect(server.jid(user), server.password(user), rec)
    assert rec.names == [], rec.seen
    return conn, rec, got


def test_a_selectors_loop_drives_every_transport(server, recorder):
    users = ["alice", "bob", "carol"]
    conns = [pollable(server, recorder, u, s, x) for u, (s, x) in zip(users, services(server))]
    sel = selectors.DefaultSelector()
    for conn, _, _ in conns:
        sel.register(conn.fileno(), selectors.EVENT_READ, conn)

    def loop_until(done, seconds=30.0):
        deadline = time.monotonic() + seconds
        while not done():
            assert time.monotonic() < deadline, [rec.seen for _, rec, _ in conns]
            timeouts = [t for c, _, _ in conns if (t := c.next_timeout()) is not None]
            ready = sel.select(min(timeouts + [0.5]))
            stepped = {key.data for key, _ in ready}
            for conn, _, _ in conns:
                # Readable, or a timer may be due: a step with nothing ready is harmless.
                if conn in stepped or not ready:
                    conn.run_once(0)

    loop_until(lambda: all(c.authenticated for c, _, _ in conns))
    for i, (conn, _, _) in enumerate(conns):
        conn.send(epode.msg(to=conn.jid, type="chat").c("body", text=f"to myself {i}"))
    loop_until(lambda: all(got for _, _, got in conns))
    for i, (_, _, got) in enumerate(conns):
        assert got == [f"to myself {i}"]
    for conn, _, _ in conns:
        conn.disconnect()
    loop_until(lambda: all(rec.names[-1:] == ["DISCONNECTED"] for _, rec, _ in conns))
    for conn, rec, _ in conns:
        assert rec.names == ["CONNECTING", "AUTHENTICATING", "CONNECTED", "DISCONNECTING", "DISCONNECTED"], rec.seen
        sel.unregister(conn.fileno())
        conn.close()


def test_asyncio_drives_every_transport_through_epode_aio(server, recorder):
    async def main():
        driver = Driver()
        users = ["alice", "bob", "carol"]
        conns = []
        for user, (service, extra) in zip(users, services(server)):
            conn, rec, got = pollable(server, recorder, user, service, extra)
            driver.add(conn)
            conns.append((conn, rec, got))
        for conn, _, _ in conns:
            await driver.wait_for_status(conn, epode.Status.CONNECTED)
        for i, (conn, _, _) in enumerate(conns):
            conn.send(epode.msg(to=conn.jid, type="chat").c("body", text=f"async {i}"))
        deadline = time.monotonic() + 30
        while not all(got for _, _, got in conns):
            assert time.monotonic() < deadline, [got for _, _, got in conns]
            await asyncio.sleep(0.02)
        for conn, _, _ in conns:
            conn.disconnect()
        for conn, _, _ in conns:
            await driver.wait_for_status(conn, epode.Status.DISCONNECTED)
            driver.remove(conn)
        return conns

    conns = asyncio.run(main())
    for i, (conn, rec, got) in enumerate(conns):
        assert got == [f"async {i}"]
        assert rec.names == ["CONNECTING", "AUTHENTICATING", "CONNECTED", "DISCONNECTING", "DISCONNECTED"], rec.seen
        conn.close()


def test_an_exception_in_a_callback_reaches_the_awaiting_coroutine(server):
    async def main():
        driver = Driver()
        conn = epode.Connection(server["XMPP_WS_URL"], pollable=True)

        def on_status(status, condition, stanza):
            if status == epode.Status.CONNECTED:
                raise RuntimeError("from the status callback")

        driver.loop.set_exception_handler(lambda loop, context: None)  # the test checks it below
        driver.add(conn)
        conn.connect(server.jid("dave"), server.password("dave"), on_status)
        try:
            await driver.wait_for_status(conn, epode.Status.DISCONNECTED, timeout=10)
        except RuntimeError as e:
            return conn, str(e)
        return conn, None

    conn, raised = asyncio.run(main())
    assert raised == "from the status callback"
    conn.close()


def test_async_stanza_iterators_and_exact_waits(server):
    """`driver.stanzas()` yields what matches, in order, and ends with the
    session; waits wake on the step that matters, not on a polling tick."""
    async def main():
        driver = Driver()
        alice = epode.Connection(server["XMPP_WS_URL"], pollable=True)
        bob = epode.Connection(server["XMPP_BOSH_URL"], pollable=True)
        for conn in (alice, bob):
            driver.add(conn)
        alice.connect(server.jid("alice"), server.password("alice"))
        bob.connect(server.jid("bob"), server.password("bob"))
        for conn in (alice, bob):
            await driver.wait_for_status(conn, epode.Status.CONNECTED)
        chats = driver.stanzas(bob, name="message", type="chat", from_=server.jid("alice"), match_bare_from=True)
        headlines = driver.stanzas(bob, name="message", type="headline")
        for i in range(5):
            alice.send(epode.msg(to=bob.jid, type="chat").c("body", text=f"chat {i}"))
        alice.send(epode.msg(to=bob.jid, type="headline").c("body", text="news"))
        got = []
        async for message in chats:
            got.append(message.find_text("body"))
            if len(got) == 5:
                break
        news = await headlines.get(timeout=10)
        nothing = await headlines.get(timeout=0.3)
        # After its end, an iterator runs dry instead of waiting.
        bob.disconnect()
        await driver.wait_for_status(bob, epode.Status.DISCONNECTED)
        after = [m async for m in chats]
        headlines.close()
        chats.close()
        alice.disconnect()
        await driver.wait_for_status(alice, epode.Status.DISCONNECTED)
        for conn in (alice, bob):
            driver.remove(conn)
            conn.close()
        return got, news, nothing, after

    got, news, nothing, after = asyncio.run(asyncio.wait_for(main(), 60))
    assert got == [f"chat {i}" for i in range(5)]
    assert news is not None and news.find_text("body") == "news"
    assert nothing is None and after == []


def test_pollable_calls_on_a_plain_connection_are_wrong_state():
    conn = epode.Connection("ws://127.0.0.1:1/ws")
    for call in (conn.fileno, conn.next_timeout):
        try:
            call()
        except epode.Error as e:
            assert e.code == epode.Result.WRONG_STATE, e
        else:
            raise AssertionError(f"{call.__name__} succeeded")
    conn.close()
