#!/usr/bin/env python3
"""Smoke check of one test server instance: python3 check.py DIR

Reads DIR/env (written by prosody.sh / ejabberd.sh) and proves, with the
standard library only:
  * WebSocket (RFC 7395) on ws and wss: upgrade with the xmpp subprotocol
    gives 101, an <open/> is answered by <open/> and stream features;
    wss is verified against XMPP_CA_FILE;
  * logins that bind a resource: alice (PLAIN, ws), bob (PLAIN, wss),
    carol on the SCRAM host (PLAIN, wss), ANONYMOUS on the anonymous host,
    and on ejabberd alice with X-OAUTH2 and XMPP_ALICE_OAUTH_TOKEN;
  * TCP c2s: STARTTLS and direct TLS verify against the CA; SASL EXTERNAL
    with the client certificate on XMPP_EXTERNAL_DOMAIN/PORT;
  * fault injection: a session kicked through XMPP_CTL (Prosody) or
    XMPP_API_URL (ejabberd) gets its stream error; XMPP_EVAL answers.
Prints one line per check; exits 1 if any failed. Nothing is skipped.
"""

import base64
import hashlib
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

TIMEOUT = 10.0
FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


class Failure(Exception):
    pass


def read_env(directory):
    path = os.path.join(directory, "env")
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        raise Failure(f"cannot read {path}: {e}") from None
    env = {}
    for line in text.splitlines():
        m = re.match(r"^export (\w+)='(.*)'$", line.strip())
        if m:
            env[m.group(1)] = m.group(2)
    return env


def tls_context(env, client_cert=False):
    ctx = ssl.create_default_context(cafile=env["XMPP_CA_FILE"])
    if client_cert:
        ctx.load_cert_chain(env["XMPP_CLIENT_CERT"], env["XMPP_CLIENT_KEY"])
    return ctx


def mechanisms(features):
    return re.findall(r"<mechanism>([^<]+)</mechanism>", features)


# --- WebSocket (RFC 6455), just enough for XMPP ------------------------------


class WebSocket:
    """A client WebSocket with the xmpp subprotocol; text messages only."""

    def __init__(self, url, env):
        u = urllib.parse.urlsplit(url)
        sock = socket.create_connection((u.hostname, u.port), timeout=TIMEOUT)
        if u.scheme == "wss":
            sock = tls_context(env).wrap_socket(sock, server_hostname=u.hostname)
        self.sock, self.buf = sock, b""
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {u.path or '/'} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: xmpp\r\n\r\n"
        )
        sock.sendall(request.encode())
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if not re.match(r"HTTP/1\.1 101\b", lines[0]):
            raise Failure(f"{url}: upgrade answered {lines[0]!r}, not 101")
        # Header names are case-insensitive; ejabberd writes no space after ':'.
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(
            hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        ).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise Failure(f"{url}: bad Sec-WebSocket-Accept in {headers}")
        if headers.get("sec-websocket-protocol") != "xmpp":
            raise Failure(f"{url}: subprotocol is not xmpp: {headers}")

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Failure("connection closed by the server")
        self.buf += data

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self):
        """The next text message; None when the server closes."""
        message = b""
        while True:
            b0, b1 = self._take(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._take(2), "big")
            elif n == 127:
                n = int.from_bytes(self._take(8), "big")
            if b1 & 0x80:
                raise Failure("the server sent a masked frame")
            payload = self._take(n)
            if opcode == 0x8:
                return None
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode in (0x1, 0x0):
                message += payload
                if b0 & 0x80:
                    return message.decode()

    def close(self):
        try:
            self._send_frame(0x8, (1000).to_bytes(2, "big"))
            self.sock.close()
        except OSError:
            pass


def ws_expect(ws, pattern, what):
    """Reads messages until one matches pattern; returns that message."""
    seen = []
    while True:
        msg = ws.recv()
        if msg is None:
            raise Failure(f"closed while waiting for {what}; got {seen}")
        seen.append(msg)
        if re.search(pattern, msg):
            return msg
        if "stream:error" in msg or re.search(r"<(\w+:)?failure", msg):
            raise Failure(f"waiting for {what}, got {msg}")


def ws_open(ws, domain):
    """Opens (or restarts) the stream; returns the stream features."""
    ws.send(f"<open xmlns='{FRAMING}' to='{domain}' version='1.0'/>")
    ws_expect(ws, r"^<open\b", "<open/>")
    return ws_expect(ws, r"features", "stream features")


def ws_login(env, url, domain, mechanism, initial):
    """SASL with one initial response, then bind; returns (ws, full JID)."""
    ws = WebSocket(url, env)
    features = ws_open(ws, domain)
    if mechanism not in mechanisms(features):
        raise Failure(f"{mechanism} not offered on {domain}: {mechanisms(features)}")
    payload = base64.b64encode(initial.encode()).decode() or "="
    ws.send(f"<auth xmlns='{SASL}' mechanism='{mechanism}'>{payload}</auth>")
    ws_expect(ws, r"<success\b", f"SASL {mechanism} success")
    features = ws_open(ws, domain)
    if "urn:ietf:params:xml:ns:xmpp-bind" not in features:
        raise Failure(f"no bind after authentication: {features}")
    ws.send(
        "<iq xmlns='jabber:client' type='set' id='bind1'>"
        "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>check</resource></bind></iq>"
    )
    reply = ws_expect(ws, r"id=['\"]bind1['\"]", "the bind result")
    jid = re.search(r"<jid>([^<]+)</jid>", reply)
    if "type='result'" not in reply.replace('"', "'") or not jid:
        raise Failure(f"bind failed: {reply}")
    return ws, jid.group(1)


def ws_logout(ws):
    ws.send(f"<close xmlns='{FRAMING}'/>")
    ws_expect(ws, r"^<close\b", "<close/>")
    ws.close()


# --- TCP c2s ------------------------------------------------------------------


class Stream:
    """A TCP XMPP stream read by regular expressions (enough for a check)."""

    def __init__(self, env, port, domain, direct_tls=False, client_cert=False):
        self.env, self.domain, self.client_cert = env, domain, client_cert
        self.sock = socket.create_connection((env["XMPP_HOST"], int(port)), timeout=TIMEOUT)
        if direct_tls:
            self._tls()
        self.buf = ""

    def _tls(self):
        ctx = tls_context(self.env, self.client_cert)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=self.domain)

    def expect(self, pattern, what):
        while True:
            m = re.search(pattern, self.buf, re.S)
            if m:
                self.buf = self.buf[m.end():]
                return m
            if "<stream:error" in self.buf or re.search(r"<failure\b", self.buf):
                raise Failure(f"waiting for {what}, got {self.buf}")
            data = self.sock.recv(65536)
            if not data:
                raise Failure(f"closed while waiting for {what}; got {self.buf!r}")
            self.buf += data.decode()

    def send(self, text):
        self.sock.sendall(text.encode())

    def open(self):
        self.send(
            f"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            f"xmlns:stream='http://etherx.jabber.org/streams' to='{self.domain}' version='1.0'>"
        )
        return self.expect(r"<stream:features.*?(</stream:features>|<stream:features/>)", "features").group(0)

    def starttls(self):
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        self.expect(r"<proceed\b[^>]*/>", "<proceed/>")
        self._tls()


def check_starttls(env):
    s = Stream(env, env["XMPP_C2S_PORT"], env["XMPP_DOMAIN"])
    if "<starttls" not in s.open():
        raise Failure("no STARTTLS offered")
    s.starttls()
    mechs = mechanisms(s.open())
    s.sock.close()
    return f"TLS verified, mechanisms after TLS: {' '.join(mechs)}"


def check_direct_tls(env):
    s = Stream(env, env["XMPP_C2S_TLS_PORT"], env["XMPP_DOMAIN"], direct_tls=True)
    mechs = mechanisms(s.open())
    version = s.sock.version()
    s.sock.close()
    return f"{version} verified, mechanisms: {' '.join(mechs)}"


def check_external(env):
    domain = env["XMPP_EXTERNAL_DOMAIN"]
    s = Stream(env, env["XMPP_EXTERNAL_PORT"], domain, client_cert=True)
    s.open()
    s.starttls()
    mechs = mechanisms(s.open())
    if "EXTERNAL" not in mechs:
        raise Failure(f"EXTERNAL not offered after STARTTLS: {mechs}")
    s.send(f"<auth xmlns='{SASL}' mechanism='EXTERNAL'>=</auth>")
    s.expect(r"<success\b[^>]*(/>|>.*?</success>)", "SASL EXTERNAL success")
    if "xmpp-bind" not in s.open():
        raise Failure("no bind after EXTERNAL")
    s.send(
        "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
        "<resource>check</resource></bind></iq>"
    )
    jid = s.expect(r"<jid>([^<]+)</jid>", "the bind result").group(1)
    if not jid.startswith(env["XMPP_CLIENT_CERT_JID"] + "/"):
        raise Failure(f"bound {jid}, expected {env['XMPP_CLIENT_CERT_JID']}/...")
    s.sock.close()
    return f"bound {jid} with the client certificate"


# --- the checks ---------------------------------------------------------------


def check_ws_open(env, url):
    ws = WebSocket(url, env)
    mechs = mechanisms(ws_open(ws, env["XMPP_DOMAIN"]))
    if not mechs:
        raise Failure("no SASL mechanisms in the stream features")
    ws_logout(ws)
    return "101, <open/> answered, mechanisms: " + " ".join(mechs)


def check_login(env, url, user, domain):
    password = f"{user}-pass"
    ws, jid = ws_login(env, url, domain, "PLAIN", f"\0{user}\0{password}")
    ws_logout(ws)
    return f"PLAIN, bound {jid}"


def check_anonymous(env):
    ws, jid = ws_login(env, env["XMPP_WS_URL"], env["XMPP_ANON_DOMAIN"], "ANONYMOUS", "")
    ws_logout(ws)
    return f"ANONYMOUS, bound {jid}"


def check_oauth(env):
    token = env["XMPP_ALICE_OAUTH_TOKEN"]
    ws, jid = ws_login(env, env["XMPP_WS_URL"], env["XMPP_DOMAIN"], "X-OAUTH2", f"\0alice\0{token}")
    ws_logout(ws)
    return f"X-OAUTH2 token, bound {jid}"


def run(argv, what):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise Failure(f"{what} exited {out.returncode}: {out.stderr.strip() or out.stdout.strip()}")
    return out.stdout.strip()


def check_kick(env):
    """A session closed by the test hooks sees its stream error."""
    ws, jid = ws_login(env, env["XMPP_WS_URL"], env["XMPP_DOMAIN"], "PLAIN", "\0bob\0bob-pass")
    if env["XMPP_SERVER"] == "prosody":
        run([env["XMPP_CTL"], "shell", f"c2s:close('{jid}', 'kicked by check', 'policy-violation')"], "ctl shell")
        condition = "policy-violation"
    else:
        user, rest = jid.split("@", 1)
        host, resource = rest.split("/", 1)
        body = f'{{"user":"{user}","host":"{host}","resource":"{resource}","reason":"kicked by check"}}'
        run(["curl", "-sS", "--fail-with-body", "-m", "10", "-d", body, env["XMPP_API_URL"] + "/kick_session"], "kick_session")
        condition = "conflict"
    error = None
    while error is None:
        msg = ws.recv()
        if msg is None:
            raise Failure("closed without a stream error")
        if "stream:error" in msg or re.search(r"<error\b", msg):
            error = msg
    ws.close()
    if f"<{condition}" not in error:
        raise Failure(f"expected <{condition}/>, got {error}")
    return f"{jid} kicked: <{condition}/>"


def check_eval(env):
    out = run([env["XMPP_EVAL"], "lists:sum([1, 2, 3])."], "eval")
    if out != "6":
        raise Failure(f"eval printed {out!r}, expected 6")
    return "evaluates on the node"


def main():
    if len(sys.argv) != 2:
        print("usage: check.py DIR", file=sys.stderr)
        return 2
    try:
        env = read_env(sys.argv[1])
        name = env["XMPP_SERVER"]
    except (Failure, KeyError) as e:
        print(f"check: FAIL {sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    checks = [
        ("WebSocket ws ", lambda: check_ws_open(env, env["XMPP_WS_URL"])),
        ("WebSocket wss", lambda: check_ws_open(env, env["XMPP_WSS_URL"])),
        ("login alice ws ", lambda: check_login(env, env["XMPP_WS_URL"], "alice", env["XMPP_DOMAIN"])),
        ("login bob wss", lambda: check_login(env, env["XMPP_WSS_URL"], "bob", env["XMPP_DOMAIN"])),
        ("login carol@scram wss", lambda: check_login(env, env["XMPP_WSS_URL"], "carol", env["XMPP_SCRAM_DOMAIN"])),
        ("login anonymous ws", lambda: check_anonymous(env)),
        ("c2s STARTTLS", lambda: check_starttls(env)),
        ("c2s direct TLS", lambda: check_direct_tls(env)),
        ("SASL EXTERNAL", lambda: check_external(env)),
        ("kick", lambda: check_kick(env)),
    ]
    if name == "ejabberd":
        checks += [("login X-OAUTH2 ws", lambda: check_oauth(env)), ("eval", lambda: check_eval(env))]
    failed = 0
    for label, check in checks:
        t0 = time.monotonic()
        try:
            detail = check()
            print(f"check: ok   {name} {label}: {detail} ({time.monotonic() - t0:.2f} s)", flush=True)
        except (Failure, OSError, ssl.SSLError, KeyError, subprocess.TimeoutExpired) as e:
            failed += 1
            print(f"check: FAIL {name} {label}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
