#!/usr/bin/env python3
"""Runs every code block of README.md as a reader would, from the checkout's
root, against the private server of tests/servers/try.sh (which must run).

Each fenced block is preceded by a marker comment that says what to do:

  <!-- test: file NAME -->     write the block to NAME (relative to the root)
  <!-- test: run -->           run the block with bash from the root;
  <!-- test: output -->        ... whose output must be exactly the next block
  <!-- test: c-fragment -->    compile the block as C and as C++ inside a function
  <!-- test: ci -->            a command CI runs as a whole step of its own
  <!-- test: picture -->       not code (a diagram)
  <!-- test: cleanup NAMES -->  (no block) what the blocks build, removed at the end

A block without a marker fails the run, so a new snippet cannot go untested.
Files written and what the blocks build are removed afterwards (they are
also in .gitignore). Prints "readme: N passed, N failed".
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
text = open(os.path.join(root, "README.md"), encoding="utf-8").read()

# (marker, info string, body, line number)
blocks = []
cleanup = []
pending = None
lines = text.split("\n")
i = 0
while i < len(lines):
    line = lines[i]
    m = re.fullmatch(r"<!-- test: (.+?) -->", line.strip())
    if m and m.group(1).startswith("cleanup "):
        cleanup += m.group(1).split()[1:]
    elif m:
        pending = (m.group(1), i + 1)
    elif line.startswith("```"):
        info = line[3:].strip()
        j = i + 1
        while not lines[j].startswith("```"):
            j += 1
        body = "\n".join(lines[i + 1 : j]) + "\n"
        marker = pending[0] if pending else None
        blocks.append((marker, info, body, i + 1))
        pending = None
        i = j
    i += 1

passed = failed = 0
written = []


def ok(what):
    global passed
    passed += 1
    print(f"ok   {what}")


def fail(what, detail=""):
    global failed
    failed += 1
    print(f"FAIL {what}\n{detail}")


C_PRELUDE = """#include <epode.h>
#include <stddef.h>
static void my_log(void *userdata, epode_conn *conn, int level, const char *message) {
    (void)userdata; (void)conn; (void)level; (void)message;
}
static void my_free(void *userdata) { (void)userdata; }
static int my_data_value;
static void *my_data = &my_data_value;
void readme_fragment(epode_conn *conn);
void readme_fragment(epode_conn *conn) {
"""


def compile_fragment(body, where):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "fragment.c")
        with open(src, "w") as f:
            f.write(C_PRELUDE + body + "}\n")
        for cc, std in (("gcc", ["-std=c11"]), ("g++", ["-x", "c++", "-std=c++17"])):
            cmd = [cc, *std, "-Wall", "-Wextra", "-Werror", "-I", os.path.join(root, "include"),
                   "-c", src, "-o", os.path.join(tmp, "fragment.o")]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"{where}: the C fragment compiles with {cc}", r.stderr)
                return
        ok(f"{where}: the C fragment compiles as C and C++")


k = 0
while k < len(blocks):
    marker, info, body, line = blocks[k]
    where = f"README.md:{line} ({info or 'plain'})"
    if marker is None:
        fail(f"{where}: a code block without a <!-- test: … --> marker")
    elif marker.startswith("file "):
        name = marker[5:].strip()
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(body)
        written.append(path)
    elif marker == "run":
        expected = None
        if k + 1 < len(blocks) and blocks[k + 1][0] == "output":
            expected = blocks[k + 1][2]
            k += 1
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=root,
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            fail(f"{where}: exits {r.returncode}", r.stdout[-3000:] + r.stderr[-3000:])
        elif expected is not None and r.stdout != expected:
            fail(f"{where}: prints what the README shows",
                 f"--- README shows\n{expected}--- it printed\n{r.stdout}--- stderr\n{r.stderr[-2000:]}")
        else:
            ok(f"{where}: runs as written" + (" and prints what the README shows" if expected else ""))
    elif marker == "output":
        fail(f"{where}: an output block with no run block before it")
    elif marker == "c-fragment":
        compile_fragment(body, where)
    elif marker in ("ci", "picture"):
        pass
    else:
        fail(f"{where}: unknown marker {marker!r}")
    k += 1

for path in written + [os.path.join(root, name) for name in cleanup]:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)

print(f"readme: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
