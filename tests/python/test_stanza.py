"""Stanzas, the builder, JIDs, options and errors: no server needed."""
import pytest

import epode
from epode import jid


def test_read_a_stanza():
    s = epode.Stanza("<message xmlns='jabber:client' to='bob@localhost' type='chat'>"
                     "<body>caf\u00e9 &amp; &lt;3</body><x xmlns='jabber:x:oob'><url>u</url></x>tail</message>")
    assert s.name == "message"
    assert dict(s.attrs) == {"xmlns": "jabber:client", "to": "bob@localhost", "type": "chat"}
    assert list(s.attrs) == ["xmlns", "to", "type"]
    with pytest.raises(TypeError):
        s.attrs["to"] = "eve"  # a read-only view
    assert s.get("to") == "bob@localhost" and s.get("nope") is None and s.get("nope", "-") == "-"
    assert len(s) == 2 and [c.name for c in s] == ["body", "x"] and s[-1].name == "x"
    assert [c.name for c in s[0:2]] == ["body", "x"] and s.children[0].text == "caf\u00e9 & <3"
    with pytest.raises(IndexError):
        s[2]
    assert s.text == "tail"
    assert s.find("url") is None, "find looks at children only"
    assert s.find("x", "jabber:x:oob").find_text("url") == "u"
    assert s.find("x", "other") is None
    assert s.find_text("body") == "caf\u00e9 & <3" and s.find_text("subject") is None
    again = epode.Stanza(str(s))
    assert again == s and str(again) == str(s) and again is not s
    assert repr(s).startswith("Stanza('<message")


def test_children_are_copies_and_writers_change_only_their_stanza():
    s = epode.Stanza("<a><b/></a>")
    child = s[0]
    child.set_attr("k", "v")
    assert str(s) == "<a><b/></a>"
    copy = s.copy()
    copy.append(child)
    copy.append_text("x & y")
    copy.set_attr("id", "1")
    assert str(copy) == '<a id="1"><b/><b k="v"/>x &amp; y</a>'
    copy.set_attr("id", None)
    assert copy.get("id") is None
    assert str(s) == "<a><b/></a>"
    new = epode.Stanza.new("query")
    new.set_attr("xmlns", "jabber:iq:roster")
    assert str(new) == '<query xmlns="jabber:iq:roster"/>'


def test_builder_as_strophes():
    b = epode.msg(to="bob@localhost", type="chat").c("body", text="hi & bye").c("active", xmlns="x:chatstates")
    assert str(b) == ('<message xmlns="jabber:client" to="bob@localhost" type="chat"><body>hi &amp; bye</body>'
                      '<active xmlns="x:chatstates"/></message>')
    b.up().up().attrs(type=None, id="m1").t("!")
    assert str(b) == ('<message xmlns="jabber:client" to="bob@localhost" id="m1"><body>hi &amp; bye</body>'
                      '<active xmlns="x:chatstates"/>!</message>')
    tree = b.tree()
    assert isinstance(tree, epode.Stanza) and str(tree) == str(b)
    done = b.finish()
    assert str(done) == str(tree)
    with pytest.raises(ValueError):
        b.up()
    assert repr(b) == "Builder(<finished>)"
    assert str(epode.iq({"type": "get"}, id="1").c("query", xmlns="jabber:iq:roster")) == \
        '<iq xmlns="jabber:client" type="get" id="1"><query xmlns="jabber:iq:roster"/></iq>'
    assert str(epode.pres(from_="a@b").c("show", text="away")) == \
        '<presence xmlns="jabber:client" from="a@b"><show>away</show></presence>'
    item = epode.build("item", name="Bob", jid="bob@localhost").cnode(epode.Stanza("<group>Friends</group>")).t("x")
    assert str(item) == '<item name="Bob" jid="bob@localhost"><group>Friendsx</group></item>'
    assert str(epode.Builder("a", {"xml:lang": "en"})) == '<a xml:lang="en"/>'


def test_bad_input_is_an_error_with_the_librarys_code_and_message():
    with pytest.raises(epode.Error) as e:
        epode.Stanza("<a><b></a>")
    assert e.value.code is epode.Result.MALFORMED_XML and "</b>" in e.value.message
    assert "EPODE_ERR_MALFORMED_XML" in str(e.value)
    for bad in ("<a/><b/>", "<!-- c --><a/>", "<a><![CDATA[x]]></a>", ""):
        with pytest.raises(epode.Error) as e:
            epode.Stanza(bad)
        assert e.value.code is epode.Result.MALFORMED_XML
    with pytest.raises(epode.Error) as e:
        epode.build("no good")
    assert e.value.code is epode.Result.INVALID_ARG and "not a valid XML name" in e.value.message
    with pytest.raises(epode.Error) as e:
        epode.msg().t("\x01")
    assert e.value.code is epode.Result.INVALID_ARG
    with pytest.raises(epode.Error) as e:
        epode.Stanza.new("")
    assert e.value.code is epode.Result.INVALID_ARG
    assert epode.Result.NULL_ARG.c_name == "EPODE_ERR_NULL_ARG"


def test_jid_comparison_normalises():
    assert jid.normalize("Alice@LocalHost/Phone") == "alice@localhost/Phone"
    assert jid.equal("Alice@LocalHost/Phone", "alice@localhost/Phone")
    assert not jid.equal("alice@localhost/Phone", "alice@localhost/phone")
    assert jid.bare_equal("ALICE@localhost/a", "alice@LOCALHOST/b")
    assert not jid.bare_equal("alice@localhost", "bob@localhost")
    with pytest.raises(epode.Error) as e:
        jid.normalize("al ice@localhost")
    assert e.value.code is epode.Result.INVALID_JID
    with pytest.raises(epode.Error):
        jid.equal("alice@localhost", "@localhost")


def test_jid_helpers():
    assert jid.node("alice@localhost/phone") == "alice"
    assert jid.domain("alice@localhost/phone") == "localhost"
    assert jid.resource("alice@localhost/phone") == "phone"
    assert jid.bare("alice@localhost/phone") == "alice@localhost"
    assert jid.node("a.example.com/b@example.net") is None
    assert jid.resource("alice@localhost") is None
    assert jid.escape_node("d'artagnan") == "d\\27artagnan"
    assert jid.unescape_node("space\\20cadet") == "space cadet"
    jid.validate("alice@localhost")
    assert jid.is_valid("alice@localhost") and not jid.is_valid("alice@")
    with pytest.raises(epode.Error) as e:
        jid.validate("alice@")
    assert e.value.code is epode.Result.INVALID_JID and e.value.message


def test_options_from_python_values():
    o = epode.Options({"wait": 30}, mechanisms=["PLAIN", "SCRAM-SHA-1"], sync=True, customHeaders={"X-App": "2"},
                      cookies={"token": "abc"}, TIMEOUT=1.5)
    assert o["mechanisms"] == "PLAIN,SCRAM-SHA-1" and o.get("sync") == "true" and o["wait"] == "30"
    assert o["customHeaders"] == "X-App: 2" and o["TIMEOUT"] == "1.5"
    assert "token" in o["cookies"]
    o["customHeaders"] = ["X-Other: 3"]
    assert o["customHeaders"] == "X-App: 2\nX-Other: 3"
    with pytest.raises(epode.Error) as e:
        o.set("nope", 1)
    assert e.value.code is epode.Result.UNKNOWN_OPTION
    with pytest.raises(epode.Error) as e:
        o.set("TIMEOUT", 99)
    assert e.value.code is epode.Result.INVALID_ARG and "TIMEOUT" in e.value.message
    with pytest.raises(TypeError):
        o.set("wait", {"a": "b"})
    assert o["TIMEOUT"] == "1.5", "a refused value changes nothing"


def test_status_and_log_level_names():
    assert [s.name for s in epode.Status][:3] == ["ERROR", "CONNECTING", "CONNFAIL"]
    assert all(s.c_name == s.name for s in epode.Status)
    assert epode.Status(13) is epode.Status.RECONNECTING
    assert [level.c_name for level in epode.LogLevel] == ["DEBUG", "INFO", "WARN", "ERROR"]
