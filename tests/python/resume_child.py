"""A new process resuming a session from a saved XEP-0198 state
(tests/resume.rs). Usage: resume_child.py SERVICE JID PASSWORD STATE_FILE

Prints `status NAME CONDITION` lines and `jid JID`, then disconnects.
Needs EPODE_LIB."""
import pathlib
import sys

# The package from this checkout, on the library $EPODE_LIB names.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "src" / "python"))
import epode  # noqa: E402


def main():
    service, jid, password, state_file = sys.argv[1:5]
    with epode.Connection(service, sync=True) as conn:
        conn.set_sm_state(pathlib.Path(state_file).read_text())
        conn.connect(jid, password, lambda status, cond, _s: print(
            "status", status.name, cond or "-", flush=True))
        print("jid", conn.jid, flush=True)
        print("resumed", conn.resumed, flush=True)
        for _ in range(10):
            conn.run_once(0.1)
        conn.disconnect()


if __name__ == "__main__":
    main()
