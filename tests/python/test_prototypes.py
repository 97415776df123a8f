"""The package's ctypes prototypes (epode/_lib.py) against include/epode.h:
every function's result and argument types, and every callback type's, must
be what the header declares, so that a change to the C ABI that the Python
side missed fails here instead of corrupting a call."""
import ctypes
import re
from ctypes import POINTER, c_bool, c_char_p, c_int, c_int64, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p

import pytest
from conftest import ROOT
from epode import _lib

HANDLES = {"epode_conn", "epode_stanza", "epode_builder", "epode_options", "epode_sasl_out", "epode_connection_methods"}
# C enums travel as int (their values fit; the header's functions take int where it matters).
SCALARS = {
    "int": c_int,
    "uint8_t": c_uint8,
    "uint32_t": c_uint32,
    "uint64_t": c_uint64,
    "int64_t": c_int64,
    "size_t": c_size_t,
    "bool": c_bool,
    "epode_result": c_int,
    "epode_status": c_int,
    "epode_sasl_step": c_int,
    "epode_log_level": c_int,
}


def parse_header(text):
    """(functions, callbacks): name -> (result, [argument types]) as C text."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"^#[^\n]*", "", text, flags=re.M)

    def args(raw):
        raw = " ".join(raw.split())
        if raw in ("", "void"):
            return []
        # Drop each parameter's name: the last identifier.
        return [re.sub(r"\s*\b\w+$", "", a.strip()) for a in raw.split(",")]

    callbacks = {
        m["name"]: (" ".join(m["ret"].split()), args(m["args"]))
        for m in re.finditer(r"typedef\s+(?P<ret>[^;{}()]+?)\s*\(\*(?P<name>epode_\w+)\)\((?P<args>[^)]*)\);", text)
    }
    functions = {
        m["name"]: (" ".join(m["ret"].split()), args(m["args"]))
        for m in re.finditer(r"(?<![^;{}\s])\s*(?P<ret>[^;{}()]*?)\b(?P<name>epode_\w+)\((?P<args>[^)]*)\);", text)
        if not m["ret"].lstrip().startswith("typedef")
    }
    return functions, callbacks


def callback_constant(typedef):
    """epode_status_cb -> _lib.STATUS_CB."""
    return getattr(_lib, typedef[len("epode_"):].upper(), None)


def expected(c_type, callbacks_ok=True):
    """The ctypes type a C type must be declared as (None for void), or a
    tuple of the types it may be declared as."""
    words = c_type.replace("*", " * ").split()
    stars = words.count("*")
    base = [w for w in words if w not in ("const", "struct", "enum", "*")]
    assert len(base) == 1, c_type
    base = base[0]
    if stars == 0:
        if base == "void":
            return None
        if base.endswith("_cb") and callbacks_ok:
            return callback_constant(base)
        return SCALARS[base]
    if stars == 1:
        if base == "char" and not c_type.startswith("const"):
            return (c_char_p, c_void_p)  # a buffer to write, or a string epode allocated
        if base == "char":
            return c_char_p
        if base == "void" or base in HANDLES:
            return c_void_p
        return POINTER(SCALARS[base])
    if stars == 2:
        if base == "char" and c_type.startswith("const"):
            return POINTER(c_char_p)  # a NULL-terminated list of strings
        if base == "char" or base in HANDLES:
            return POINTER(c_void_p)  # an out-pointer: a string to free, or a handle
    raise AssertionError(f"no ctypes rule for {c_type!r}")


def fits(c_type, py, callbacks_ok=True):
    want = expected(c_type, callbacks_ok)
    return py in want if isinstance(want, tuple) else py is want


def mismatches(functions, callbacks, prototypes, constant=callback_constant):
    """What differs between the header and the Python declarations."""
    found = []
    declared = {name: (res, argtypes) for name, res, argtypes in prototypes}
    for name in sorted(set(functions) ^ set(declared)):
        found.append(f"{name}: {'only in the header' if name in functions else 'only in Python'}")
    for name in sorted(set(functions) & set(declared)):
        ret, args = functions[name]
        res, argtypes = declared[name]
        if not fits(ret, res, callbacks_ok=False):
            found.append(f"{name}: returns {ret}, declared {res}")
        if len(args) != len(argtypes):
            found.append(f"{name}: {len(args)} arguments, declared {len(argtypes)}")
            continue
        for i, (c, py) in enumerate(zip(args, argtypes)):
            if not fits(c, py):
                found.append(f"{name}: argument {i + 1} is {c}, declared {py}")
    for name, (ret, args) in sorted(callbacks.items()):
        cb = constant(name)
        if cb is None:
            found.append(f"{name}: no ctypes CFUNCTYPE in _lib")
            continue
        argtypes = list(cb._argtypes_)
        same = len(args) == len(argtypes) and all(fits(a, t) for a, t in zip(args, argtypes))
        if not (fits(ret, cb._restype_) and same):
            found.append(f"{name}: ({ret}; {', '.join(args)}) declared ({cb._restype_}; {cb._argtypes_})")
    return found


@pytest.fixture(scope="module")
def header():
    return parse_header((ROOT / "include" / "epode.h").read_text())


def test_the_parser_reads_the_whole_header(header):
    functions, callbacks = header
    assert len(functions) >= 90 and len(callbacks) >= 10
    assert functions["epode_conn_send"] == ("enum epode_result", ["struct epode_conn *", "const struct epode_stanza *"])
    assert functions["epode_version"] == ("const char *", [])
    assert callbacks["epode_free_cb"] == ("void", ["void *"])


def test_every_prototype_matches_the_header(header):
    functions, callbacks = header
    assert mismatches(functions, callbacks, _lib._PROTOTYPES) == []


def test_a_mismatch_is_found(header):
    functions, callbacks = header
    wrong = [
        (name, res, [c_int if (name, i) == ("epode_conn_send", 1) else t for i, t in enumerate(args)])
        for name, res, args in _lib._PROTOTYPES
        if name != "epode_version"
    ] + [("epode_no_such_function", c_int, [])]
    found = mismatches(functions, callbacks, wrong)
    assert "epode_conn_send: argument 2 is const struct epode_stanza *, declared <class 'ctypes.c_int'>" in found
    assert "epode_version: only in the header" in found
    assert "epode_no_such_function: only in Python" in found
    # A callback type whose arguments differ.
    bad_log = ctypes.CFUNCTYPE(None, c_void_p, c_void_p, c_char_p, c_char_p)
    found = mismatches(
        functions,
        callbacks,
        _lib._PROTOTYPES,
        constant=lambda n: bad_log if n == "epode_log_cb" else callback_constant(n),
    )
    assert [f for f in found if f.startswith("epode_log_cb:")], found
