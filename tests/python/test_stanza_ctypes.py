"""The stanza, builder, JID and error API through ctypes, as a Python user
would reach the cdylib without any binding code of ours."""
import ctypes
from ctypes import POINTER, byref, c_char_p, c_int, c_size_t, c_void_p

import pytest

EPODE_OK = 0
EPODE_ERR_NULL_ARG = 1
EPODE_ERR_INVALID_UTF8 = 2
EPODE_ERR_MALFORMED_XML = 3
EPODE_ERR_NOT_FOUND = 7
EPODE_ERR_BUFFER_TOO_SMALL = 8
EPODE_ERR_INVALID_JID = 9


@pytest.fixture(scope="module")
def api(lib):
    lib.epode_version.restype = c_char_p
    lib.epode_result_str.restype = c_char_p
    lib.epode_result_str.argtypes = [c_int]
    lib.epode_status_name.restype = c_char_p
    lib.epode_status_name.argtypes = [c_int]
    lib.epode_last_error.restype = c_size_t
    lib.epode_last_error.argtypes = [c_char_p, c_size_t]
    lib.epode_stanza_parse.argtypes = [c_char_p, POINTER(c_void_p)]
    lib.epode_stanza_free.argtypes = [c_void_p]
    lib.epode_stanza_free.restype = None
    lib.epode_stanza_to_string.argtypes = [c_void_p, POINTER(c_void_p)]
    lib.epode_string_free.argtypes = [c_void_p]
    lib.epode_string_free.restype = None
    for name in ("epode_stanza_name", "epode_stanza_text"):
        getattr(lib, name).argtypes = [c_void_p, c_char_p, c_size_t, POINTER(c_size_t)]
    lib.epode_stanza_attr.argtypes = [c_void_p, c_char_p, c_char_p, c_size_t, POINTER(c_size_t)]
    lib.epode_stanza_find_child.argtypes = [c_void_p, c_char_p, c_char_p, POINTER(c_void_p)]
    lib.epode_builder_msg.argtypes = [POINTER(c_char_p), POINTER(c_void_p)]
    lib.epode_builder_c.argtypes = [c_void_p, c_char_p, POINTER(c_char_p), c_char_p]
    lib.epode_builder_finish.argtypes = [c_void_p, POINTER(c_void_p)]
    for name in ("epode_jid_node", "epode_jid_domain", "epode_jid_resource",
                 "epode_jid_bare", "epode_jid_escape_node", "epode_jid_unescape_node"):
        getattr(lib, name).argtypes = [c_char_p, c_char_p, c_size_t, POINTER(c_size_t)]
    lib.epode_jid_validate.argtypes = [c_char_p]
    return lib


def last_error(api):
    buf = ctypes.create_string_buffer(512)
    api.epode_last_error(buf, len(buf))
    return buf.value.decode()


def read(api, fn, *args):
    """Calls a buf/cap/len getter twice: once for the length, then for real."""
    need = c_size_t()
    r = fn(*args, None, 0, byref(need))
    if r != EPODE_ERR_BUFFER_TOO_SMALL:
        return r, None
    buf = ctypes.create_string_buffer(need.value + 1)
    r = fn(*args, buf, len(buf), byref(need))
    return r, buf.value.decode()


def parse(api, xml: bytes):
    out = c_void_p()
    r = api.epode_stanza_parse(xml, byref(out))
    return r, out


def to_string(api, stanza):
    out = c_void_p()
    assert api.epode_stanza_to_string(stanza, byref(out)) == EPODE_OK
    text = ctypes.string_at(out).decode()
    api.epode_string_free(out)
    return text


def test_version_and_names(api):
    assert api.epode_version().decode().count(".") == 2
    assert api.epode_result_str(EPODE_ERR_NULL_ARG) == b"EPODE_ERR_NULL_ARG"
    assert api.epode_status_name(5) == b"CONNECTED"
    assert api.epode_status_name(13) == b"RECONNECTING"


def test_parse_read_and_round_trip(api):
    r, s = parse(api, "<message xmlns='jabber:client' to='bob@localhost'>"
                      "<body>caf\u00e9 &amp; &lt;3</body></message>".encode())
    assert r == EPODE_OK
    try:
        assert read(api, api.epode_stanza_name, s) == (EPODE_OK, "message")
        assert read(api, api.epode_stanza_attr, s, b"to") == (EPODE_OK, "bob@localhost")
        assert read(api, api.epode_stanza_attr, s, b"nope")[0] == EPODE_ERR_NOT_FOUND
        body = c_void_p()
        assert api.epode_stanza_find_child(s, b"body", None, byref(body)) == EPODE_OK
        assert read(api, api.epode_stanza_text, body) == (EPODE_OK, "caf\u00e9 & <3")
        first = to_string(api, s)
        r, again = parse(api, first.encode())
        assert r == EPODE_OK
        assert to_string(api, again) == first
        api.epode_stanza_free(again)
    finally:
        api.epode_stanza_free(s)


def test_builder(api):
    attrs = (c_char_p * 5)(b"to", b"bob@localhost", b"type", b"chat", None)
    b = c_void_p()
    assert api.epode_builder_msg(attrs, byref(b)) == EPODE_OK
    assert api.epode_builder_c(b, b"body", None, b"hi & bye") == EPODE_OK
    s = c_void_p()
    assert api.epode_builder_finish(b, byref(s)) == EPODE_OK
    assert to_string(api, s) == ('<message xmlns="jabber:client" to="bob@localhost" '
                                 'type="chat"><body>hi &amp; bye</body></message>')
    api.epode_stanza_free(s)


def test_jid(api):
    assert read(api, api.epode_jid_node, b"alice@localhost/phone") == (EPODE_OK, "alice")
    assert read(api, api.epode_jid_resource, b"alice@localhost/phone") == (EPODE_OK, "phone")
    assert read(api, api.epode_jid_bare, b"alice@localhost/phone") == (EPODE_OK, "alice@localhost")
    assert read(api, api.epode_jid_node, b"a.example.com/b@example.net")[0] == EPODE_ERR_NOT_FOUND
    assert read(api, api.epode_jid_domain, b"a.example.com/b@example.net") == (EPODE_OK, "a.example.com")
    assert read(api, api.epode_jid_escape_node, b"space cadet") == (EPODE_OK, "space\\20cadet")
    assert read(api, api.epode_jid_unescape_node, b"space\\20cadet") == (EPODE_OK, "space cadet")
    assert api.epode_jid_validate(b"alice@localhost") == EPODE_OK
    assert api.epode_jid_validate(b"alice@") == EPODE_ERR_INVALID_JID


def test_bad_input_gives_codes_and_messages(api):
    r, s = parse(api, b"<a><b></a>")
    assert r == EPODE_ERR_MALFORMED_XML and not s.value
    assert last_error(api)
    assert parse(api, b"<a>\xff</a>")[0] == EPODE_ERR_INVALID_UTF8
    assert "UTF-8" in last_error(api)
    assert parse(api, b"<a/><b/>")[0] == EPODE_ERR_MALFORMED_XML
    assert parse(api, b"<x:a/>")[0] == EPODE_ERR_MALFORMED_XML
    assert api.epode_stanza_parse(None, byref(c_void_p())) == EPODE_ERR_NULL_ARG
    assert "NULL" in last_error(api)
    assert api.epode_stanza_parse(b"<a/>", None) == EPODE_ERR_NULL_ARG
    assert api.epode_jid_node(None, None, 0, None) == EPODE_ERR_NULL_ARG
    api.epode_stanza_free(None)  # does nothing
