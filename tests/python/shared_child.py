"""A second process for the shared-connection tests (tests/shared.rs).

    shared_child.py SERVICE WORKER JID PASSWORD

Connects through the worker and reports on stdout, one line each:
`status NAME CONDITION`, `message BODY`. Reads commands on stdin:
`send TO BODY`, `disconnect`, `quit`. Needs EPODE_LIB.
"""
import pathlib
import sys

# The package from this checkout, on the library $EPODE_LIB names.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "src" / "python"))
import epode  # noqa: E402


def main():
    service, worker, jid, password = sys.argv[1:5]
    conn = epode.Connection(service, worker=worker)

    def on_status(status, condition, _stanza):
        print("status", status.name, condition or "-", flush=True)

    def on_message(stanza):
        print("message", stanza.find_text("body", default=""), flush=True)
        return True

    conn.add_handler(on_message, name="message")
    conn.connect(jid, password, on_status)
    for line in sys.stdin:
        words = line.split(" ", 2)
        if words[0] == "send":
            to, body = words[1], words[2].strip()
            conn.send(f"<message xmlns='jabber:client' to='{to}' type='chat'><body>{body}</body></message>")
            print("sent", body, flush=True)
        elif words[0].strip() == "disconnect":
            conn.disconnect()
        elif words[0].strip() == "quit":
            break
    conn.close()


if __name__ == "__main__":
    main()
