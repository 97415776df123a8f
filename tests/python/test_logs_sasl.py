"""The library's log into `logging` (and into a callable, and the C stderr
handler), and SASL mechanisms written in Python."""
import logging
import subprocess
import sys

import pytest

import epode
from conftest import INSTALLED, ROOT


def test_a_connection_logs_into_a_logger(server, caplog):
    logger = logging.getLogger("epode.test.conn")
    with caplog.at_level(logging.INFO, logger="epode.test.conn"):
        with epode.Connection(server.ws, sync=True) as conn:
            conn.set_log_handler(logger)  # level: the logger's effective one (INFO)
            conn.connect(server.jid("alice"), server.password("alice"))
    messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "epode.test.conn"]
    assert (logging.INFO, "status CONNECTED") in messages
    assert any("SASL mechanism" in m for _, m in messages)
    assert all(level >= logging.INFO for level, _ in messages), "nothing below the logger's level"
    assert not any(server.password("alice") in m for _, m in messages)


def test_a_callable_log_handler_and_levels(server):
    got = []
    with epode.Connection(server.ws, sync=True) as conn:
        conn.set_log_handler(lambda level, message: got.append((level, message)), epode.LogLevel.DEBUG)
        conn.connect(server.jid("bob"), server.password("bob"))
        assert any(level is epode.LogLevel.DEBUG for level, _ in got), "stanzas at DEBUG"
        conn.set_log_handler(None)
        count = len(got)
        conn.send(epode.msg(to=conn.jid).c("body", text="quiet"))
        conn.run_once(0.1)
        assert len(got) == count
    assert epode.LogLevel.for_logger(logging.getLogger("nobody.configured")) is epode.LogLevel.WARN


def test_the_process_wide_handler_feeds_the_epode_logger(server, caplog):
    try:
        with caplog.at_level(logging.INFO, logger="epode"):
            epode.set_default_log_handler()
            with epode.Connection(server.ws, sync=True) as conn:
                conn.connect(server.jid("carol"), server.password("carol"))
        assert any(r.name == "epode" and r.getMessage() == "status CONNECTED" for r in caplog.records)
    finally:
        epode.clear_default_log_handler()


def test_log_to_stderr_uses_the_librarys_own_handler(server):
    """In a child process, so that the C handler's writes to fd 2 are caught."""
    script = (
        "import epode\n"
        "epode.log_to_stderr(epode.LogLevel.INFO)\n"
        f"with epode.Connection({server.ws!r}, sync=True) as conn:\n"
        f"    conn.connect({server.jid('dave')!r}, {server.password('dave')!r})\n"
    )
    env = None
    if not INSTALLED:
        import os

        env = dict(os.environ, PYTHONPATH=str(ROOT / "src" / "python"))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert "epode INFO: status CONNECTED" in out.stderr


def test_a_mechanism_in_python_logs_in(server, recorder):
    steps = []

    def plain(step, data):
        steps.append((step, data))
        if step is epode.SaslStep.START:
            return b"\0" + epode.jid.node(server.jid("alice")).encode() + b"\0" + server.password("alice").encode()
        return None

    rec = recorder()
    with epode.Connection(server.ws, sync=True, mechanisms=["PLAIN"]) as conn:
        conn.register_mechanism("PLAIN", plain, priority=50)
        conn.connect(server.jid("alice"), server.password("alice"), rec)
    assert rec.names[:3] == ["CONNECTING", "AUTHENTICATING", "CONNECTED"]
    assert steps[0] == (epode.SaslStep.START, b"") and steps[-1][0] is epode.SaslStep.SUCCESS


def test_a_mechanism_that_raises_fails_the_login_and_the_exception_comes_out(server, recorder):
    rec = recorder()

    def broken(step, data):
        raise ValueError("no credentials here")

    with epode.Connection(server.ws, sync=True, mechanisms=["PLAIN"]) as conn:
        conn.register_mechanism("PLAIN", broken, priority=50)
        with pytest.raises(ValueError, match="no credentials"):
            conn.connect(server.jid("bob"), server.password("bob"), rec)
    assert "AUTHFAIL" in rec.names and "CONNECTED" not in rec.names
