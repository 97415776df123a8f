"""tests/examples/echo_bot.py and echo_bot_async.py, run as a user would,
against the servers: bare-JID matching (any resource of the peer), the log
through `logging`, and for the second a pollable connection on asyncio's
loop, which stays free while the bot waits."""
import os
import re
import subprocess
import sys

import pytest

import epode
from conftest import INSTALLED, ROOT


@pytest.mark.parametrize("script", ["echo_bot.py", "echo_bot_async.py"])
def test_the_echo_bot_answers_any_resource_of_its_peer(server, script):
    env = dict(os.environ)
    if not INSTALLED:
        env["PYTHONPATH"] = str(ROOT / "src" / "python")
    bot = subprocess.Popen([sys.executable, str(ROOT / "tests" / "examples" / script), server.ws,
                            server.jid("alice"), server.password("alice"), server.jid("bob")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready = bot.stdout.readline().split()
        assert ready[:1] == ["ready"], bot.stderr.read() if bot.poll() is not None else ready
        bot_jid = ready[1]
        with epode.Connection(server.ws, sync=True, resource="any-resource") as bob, \
                epode.Connection(server.ws, sync=True) as carol:
            bob.connect(server.jid("bob"), server.password("bob"))
            carol.connect(server.jid("carol"), server.password("carol"))
            carol_got = carol.stanzas(name="message")
            carol.send(epode.msg(to=bot_jid, type="chat").c("body", text="not from the peer"))
            answers = bob.stanzas(name="message", from_=bot_jid)
            bob.send(epode.msg(to=bot_jid, type="chat").c("body", text="echo me"))
            answer = answers.get(timeout=15)
            assert answer is not None and answer.find_text("body") == "echo me"
            assert carol_got.get(timeout=0.5) is None, "only the peer's bare JID is answered"
            bob.send(epode.msg(to=bot_jid, type="chat").c("body", text="quit"))
        assert bot.wait(15) == 0
        log = bot.stderr.read()
        assert "echo_bot INFO status CONNECTED" in log, log
        assert "SASL mechanism" in log and server.password("alice") not in log
        assert "echo_bot INFO status DISCONNECTED" in log, log
        if script == "echo_bot_async.py":
            ticks = re.search(r"the loop ticked (\d+) times", log)
            assert ticks and int(ticks.group(1)) > 0, log
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
