"""The Python package's tests: which `epode` they import, the servers, and
a check that every C function the package declares was called.

By default they import the package from the checkout (src/python) on the
debug build of the library ($EPODE_LIB, default target/debug). With
EPODE_TEST_INSTALLED=1 they import the installed package instead, and fail
unless it is outside the checkout and loads the library bundled in it.
With EPODE_PY_COVERAGE=1 a run that passes still fails if some declared
C function was never called.
"""
import ctypes
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
INSTALLED = os.environ.get("EPODE_TEST_INSTALLED") == "1"

if not INSTALLED:
    os.environ.setdefault("EPODE_LIB", str(ROOT / "target" / "debug" / "libepode.so"))
    sys.path.insert(0, str(ROOT / "src" / "python"))

import epode  # noqa: E402
from epode import _lib  # noqa: E402

CALLED = set()
# Passed to the library as a function pointer, never called from Python:
# test_logs.py checks its output on stderr.
NOT_CALLED_FROM_PYTHON = {"epode_log_stderr"}


def _count_calls():
    for name in _lib.DECLARED:
        fn = getattr(_lib.lib, name)

        def counted(*args, _fn=fn, _name=name):
            CALLED.add(_name)
            return _fn(*args)

        setattr(_lib.lib, name, counted)


_count_calls()


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("EPODE_PY_COVERAGE") == "1" and exitstatus == 0:
        missing = sorted(_lib.DECLARED - CALLED - NOT_CALLED_FROM_PYTHON)
        if missing:
            print(f"\nC functions the tests never called: {', '.join(missing)}", file=sys.stderr)
            session.exitstatus = 1


class Server:
    """One private server started by tests/servers/*.sh (its env file)."""

    def __init__(self, name):
        directory = os.environ.get(f"EPODE_TEST_{name.upper()}")
        if not directory:
            pytest.fail(f"EPODE_TEST_{name.upper()} is not set: start the servers (tests/run-all.sh)")
        self.name = name
        self.env = {}
        for line in open(os.path.join(directory, "env")):
            if line.startswith("export "):
                key, _, value = line[len("export "):].strip().partition("=")
                self.env[key] = value.strip("'")
        self.ws = self.env["XMPP_WS_URL"]
        self.bosh = self.env["XMPP_BOSH_URL"]
        self.domain = self.env["XMPP_DOMAIN"]

    def jid(self, user):
        return self.env[f"XMPP_{user.upper()}_JID"]

    def password(self, user):
        return self.env[f"XMPP_{user.upper()}_PASSWORD"]

    def __getitem__(self, key):
        return self.env[key]


@pytest.fixture(params=["prosody", "ejabberd"])
def server(request):
    return Server(request.param)


@pytest.fixture
def env(server):
    return server.env


@pytest.fixture(scope="session")
def lib():
    """The very library the package loaded, through plain ctypes."""
    return ctypes.CDLL(epode.library_path)


class Recorder:
    """A status callback that keeps (name, condition) pairs."""

    def __init__(self):
        self.seen = []

    def __call__(self, status, condition, stanza):
        assert isinstance(status, epode.Status)
        self.seen.append((status.name, condition))

    @property
    def names(self):
        return [name for name, _ in self.seen]


@pytest.fixture
def recorder():
    return Recorder


def drive(conn, until, seconds=10.0):
    """Sync mode: runs the engine until `until()` holds, at most `seconds`."""
    import time

    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, "timed out"
        conn.run_once(0.05)
