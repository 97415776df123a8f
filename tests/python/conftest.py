"""Finds the cdylib for the ctypes tests: $EPODE_LIB, else target/debug."""
import ctypes
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

# The tests run against the library run-all.sh just built (target/debug),
# never a stale release build the module would otherwise prefer.
os.environ.setdefault("EPODE_LIB", str(ROOT / "target" / "debug" / "libepode.so"))


@pytest.fixture(scope="session")
def lib():
    path = os.environ.get("EPODE_LIB") or str(ROOT / "target" / "debug" / "libepode.so")
    if not os.path.exists(path):
        pytest.fail(f"libepode not found at {path}: run `cargo build` first")
    return ctypes.CDLL(path)
