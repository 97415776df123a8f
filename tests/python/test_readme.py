"""The README's Python quick start runs as written (only the port differs)."""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_readme_python_quick_start():
    text = (ROOT / "README.md").read_text()
    code = re.search(r"## Quick start in Python\n.*?```python\n(.*?)```", text, re.S).group(1)
    directory = os.environ["EPODE_TEST_PROSODY"]
    ws = next(line.split("'")[1] for line in open(os.path.join(directory, "env"))
              if line.startswith("export XMPP_WS_URL="))
    code = code.replace("ws://127.0.0.1:16224/xmpp-websocket", ws)
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:6] == ["CONNECTING ", "AUTHENTICATING ", "CONNECTED ", "pong",
                                          "DISCONNECTING ", "DISCONNECTED "], run.stdout
