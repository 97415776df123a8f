/* The stanza, builder, JID, version and error API, exercised from C (and,
 * compiled as C++, from C++). Run under AddressSanitizer by tests/c/run.sh. */
#include "epode.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

/* Returns a malloc'd copy of a stanza's serialization ("" on failure). */
static char *serialize(const epode_stanza *s) {
    char *xml = NULL;
    if (epode_stanza_to_string(s, &xml) != EPODE_OK) {
        char *empty = (char *)malloc(1);
        empty[0] = '\0';
        return empty;
    }
    char *copy = (char *)malloc(strlen(xml) + 1);
    strcpy(copy, xml);
    epode_string_free(xml);
    return copy;
}

static void test_version(void) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", EPODE_VERSION_MAJOR, EPODE_VERSION_MINOR, EPODE_VERSION_PATCH);
    CHECK(strcmp(epode_version(), expected) == 0);
    CHECK(strcmp(epode_result_str(EPODE_OK), "EPODE_OK") == 0);
    CHECK(strcmp(epode_result_str(EPODE_ERR_NULL_ARG), "EPODE_ERR_NULL_ARG") == 0);
    CHECK(strcmp(epode_result_str(12345), "EPODE_UNKNOWN") == 0);
}

static void test_status_names(void) {
    CHECK(EPODE_STATUS_ERROR == 0);
    CHECK(EPODE_STATUS_CONNECTED == 5);
    CHECK(EPODE_STATUS_RECONNECTING == 13);
    CHECK(strcmp(epode_status_name(EPODE_STATUS_CONNFAIL), "CONNFAIL") == 0);
    CHECK(strcmp(epode_status_name(EPODE_STATUS_BINDREQUIRED), "BINDREQUIRED") == 0);
    CHECK(strcmp(epode_status_name(99), "UNKNOWN") == 0);
}

static void test_parse_and_read(void) {
    epode_stanza *s = NULL;
    CHECK_RESULT(epode_stanza_parse("<message xmlns='jabber:client' to='bob@localhost' type='chat'>"
                                    "<body>a &lt; b &amp; &quot;c&quot;</body>"
                                    "<x xmlns='jabber:x:data'/></message>",
                                    &s),
                 EPODE_OK);
    if (!s) return;

    char buf[128];
    size_t len = 0;
    CHECK_RESULT(epode_stanza_name(s, buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "message") == 0 && len == 7);
    CHECK_RESULT(epode_stanza_attr(s, "to", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "bob@localhost") == 0);
    CHECK_RESULT(epode_stanza_attr(s, "from", buf, sizeof buf, &len), EPODE_ERR_NOT_FOUND);

    /* Too small a buffer: nothing written, the needed length reported. */
    char tiny[4] = {'x', 'x', 'x', 'x'};
    CHECK_RESULT(epode_stanza_attr(s, "to", tiny, sizeof tiny, &len), EPODE_ERR_BUFFER_TOO_SMALL);
    CHECK(len == strlen("bob@localhost") && tiny[0] == 'x');

    size_t n = 0;
    CHECK_RESULT(epode_stanza_attr_count(s, &n), EPODE_OK);
    CHECK(n == 3);
    CHECK_RESULT(epode_stanza_attr_name_at(s, 1, buf, sizeof buf, NULL), EPODE_OK);
    CHECK(strcmp(buf, "to") == 0);
    CHECK_RESULT(epode_stanza_child_count(s, &n), EPODE_OK);
    CHECK(n == 2);

    const epode_stanza *body = NULL;
    CHECK_RESULT(epode_stanza_find_child(s, "body", NULL, &body), EPODE_OK);
    CHECK_RESULT(epode_stanza_text(body, buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "a < b & \"c\"") == 0);

    const epode_stanza *x = NULL;
    CHECK_RESULT(epode_stanza_find_child(s, "x", "jabber:x:data", &x), EPODE_OK);
    CHECK_RESULT(epode_stanza_find_child(s, "x", "jabber:client", &x), EPODE_ERR_NOT_FOUND);
    CHECK_RESULT(epode_stanza_child(s, 1, &x), EPODE_OK);
    CHECK_RESULT(epode_stanza_name(x, buf, sizeof buf, NULL), EPODE_OK);
    CHECK(strcmp(buf, "x") == 0);
    CHECK_RESULT(epode_stanza_child(s, 2, &x), EPODE_ERR_NOT_FOUND);

    /* Round trip: serialize, parse again, serialize again: identical. */
    char *first = serialize(s);
    epode_stanza *again = NULL;
    CHECK_RESULT(epode_stanza_parse(first, &again), EPODE_OK);
    char *second = serialize(again);
    CHECK(strcmp(first, second) == 0);
    CHECK(strstr(first, "a &lt; b &amp; \"c\"") != NULL);
    free(first);
    free(second);
    epode_stanza_free(again);
    epode_stanza_free(s);
}

static void test_build(void) {
    const char *attrs[] = {"to", "bob@localhost", "type", "chat", NULL};
    epode_builder *b = NULL;
    CHECK_RESULT(epode_builder_msg(attrs, &b), EPODE_OK);
    CHECK_RESULT(epode_builder_c(b, "body", NULL, NULL), EPODE_OK);
    CHECK_RESULT(epode_builder_t(b, "it's <fine> & \"quoted\""), EPODE_OK);
    CHECK_RESULT(epode_builder_up(b), EPODE_OK);
    const char *thread_attrs[] = {"parent", "p1", NULL};
    CHECK_RESULT(epode_builder_c(b, "thread", thread_attrs, "t1"), EPODE_OK);
    /* c() with text keeps the cursor on the parent, as in Strophe. */
    const char *more[] = {"id", "m1", "type", NULL, NULL};
    CHECK_RESULT(epode_builder_attrs(b, more), EPODE_OK);
    epode_stanza *msg = NULL;
    CHECK_RESULT(epode_builder_finish(b, &msg), EPODE_OK);
    char *xml = serialize(msg);
    CHECK(strcmp(xml, "<message xmlns=\"jabber:client\" to=\"bob@localhost\" id=\"m1\">"
                      "<body>it's &lt;fine&gt; &amp; \"quoted\"</body>"
                      "<thread parent=\"p1\">t1</thread></message>") == 0);
    free(xml);

    /* cnode copies a stanza in; the original stays the caller's. */
    epode_builder *iq = NULL;
    const char *iq_attrs[] = {"type", "set", "id", "x1", NULL};
    CHECK_RESULT(epode_builder_iq(iq_attrs, &iq), EPODE_OK);
    CHECK_RESULT(epode_builder_cnode(iq, msg), EPODE_OK);
    epode_stanza *built = NULL;
    CHECK_RESULT(epode_builder_finish(iq, &built), EPODE_OK);
    size_t n = 0;
    CHECK_RESULT(epode_stanza_child_count(built, &n), EPODE_OK);
    CHECK(n == 1);
    epode_stanza_free(built);
    epode_stanza_free(msg);

    /* Mutation through the stanza API. */
    epode_stanza *p = NULL;
    CHECK_RESULT(epode_stanza_new("presence", &p), EPODE_OK);
    CHECK_RESULT(epode_stanza_set_attr(p, "type", "unavailable"), EPODE_OK);
    CHECK_RESULT(epode_stanza_set_attr(p, "type", NULL), EPODE_OK);
    CHECK_RESULT(epode_stanza_append_text(p, "x"), EPODE_OK);
    xml = serialize(p);
    CHECK(strcmp(xml, "<presence>x</presence>") == 0);
    free(xml);
    epode_stanza_free(p);

    /* A failed step leaves the builder usable and unchanged. */
    epode_builder *pres = NULL;
    CHECK_RESULT(epode_builder_pres(NULL, &pres), EPODE_OK);
    CHECK_RESULT(epode_builder_c(pres, "bad name", NULL, NULL), EPODE_ERR_INVALID_ARG);
    CHECK_RESULT(epode_builder_c(pres, "show", NULL, "away"), EPODE_OK);
    char *s = NULL;
    CHECK_RESULT(epode_builder_to_string(pres, &s), EPODE_OK);
    CHECK(s && strcmp(s, "<presence xmlns=\"jabber:client\"><show>away</show></presence>") == 0);
    epode_string_free(s);
    epode_builder_free(pres);
}

static void test_jid(void) {
    char buf[256];
    size_t len = 0;
    CHECK_RESULT(epode_jid_node("juliet@example.com/balcony", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "juliet") == 0);
    CHECK_RESULT(epode_jid_domain("juliet@example.com/balcony", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "example.com") == 0);
    CHECK_RESULT(epode_jid_resource("juliet@example.com/foo/bar", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "foo/bar") == 0);
    CHECK_RESULT(epode_jid_bare("juliet@example.com/balcony", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "juliet@example.com") == 0);
    /* RFC 7622: an '@' after the first '/' belongs to the resource. */
    CHECK_RESULT(epode_jid_node("a.example.com/b@example.net", buf, sizeof buf, &len), EPODE_ERR_NOT_FOUND);
    CHECK_RESULT(epode_jid_domain("a.example.com/b@example.net", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "a.example.com") == 0);
    CHECK_RESULT(epode_jid_resource("a.example.com/b@example.net", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "b@example.net") == 0);
    CHECK_RESULT(epode_jid_resource("example.com", buf, sizeof buf, &len), EPODE_ERR_NOT_FOUND);

    CHECK_RESULT(epode_jid_escape_node("d'artagnan", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "d\\27artagnan") == 0);
    CHECK_RESULT(epode_jid_escape_node("at&t guy", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "at\\26t\\20guy") == 0);
    CHECK_RESULT(epode_jid_unescape_node("c\\3a\\5c5commas", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "c:\\5commas") == 0);

    CHECK_RESULT(epode_jid_validate("alice@localhost/res"), EPODE_OK);
    CHECK_RESULT(epode_jid_validate("@localhost"), EPODE_ERR_INVALID_JID);
    CHECK_RESULT(epode_jid_validate("alice@/res"), EPODE_ERR_INVALID_JID);
}

static void test_bad_input(void) {
    epode_stanza *s = NULL;
    char msg[256];

    /* Malformed XML, a second root, an undeclared prefix, DTDs. */
    CHECK_RESULT(epode_stanza_parse("<a><b></a>", &s), EPODE_ERR_MALFORMED_XML);
    CHECK(epode_last_error(msg, sizeof msg) > 0);
    CHECK_RESULT(epode_stanza_parse("<a/><b/>", &s), EPODE_ERR_MALFORMED_XML);
    CHECK_RESULT(epode_stanza_parse("<p:a/>", &s), EPODE_ERR_MALFORMED_XML);
    CHECK_RESULT(epode_stanza_parse("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", &s), EPODE_ERR_MALFORMED_XML);
    CHECK_RESULT(epode_stanza_parse("<a>&unknown;</a>", &s), EPODE_ERR_MALFORMED_XML);
    CHECK_RESULT(epode_stanza_parse("", &s), EPODE_ERR_MALFORMED_XML);
    CHECK(s == NULL); /* outputs are written only on success */

    /* Invalid UTF-8 anywhere text goes in. */
    CHECK_RESULT(epode_stanza_parse("<a>\xff\xfe</a>", &s), EPODE_ERR_INVALID_UTF8);
    CHECK_RESULT(epode_stanza_new("\xc0\xaf", &s), EPODE_ERR_INVALID_UTF8);
    CHECK_RESULT(epode_jid_node("\xe2\x82", msg, sizeof msg, NULL), EPODE_ERR_INVALID_UTF8);

    /* NULL pointers into every kind of function. */
    size_t n = 0;
    const epode_stanza *child = NULL;
    epode_builder *b = NULL;
    CHECK_RESULT(epode_stanza_parse(NULL, &s), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_parse("<a/>", NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_new(NULL, &s), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_clone(NULL, &s), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_name(NULL, msg, sizeof msg, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_attr(NULL, "a", msg, sizeof msg, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_attr_count(NULL, &n), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_attr_name_at(NULL, 0, msg, sizeof msg, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_set_attr(NULL, "a", "b"), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_text(NULL, msg, sizeof msg, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_append_text(NULL, "x"), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_append_child(NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_child_count(NULL, &n), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_child(NULL, 0, &child), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_find_child(NULL, "a", NULL, &child), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_stanza_to_string(NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_builder_new(NULL, NULL, &b), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_builder_msg(NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_builder_c(NULL, "a", NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_builder_t(NULL, "a"), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_builder_up(NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_builder_attrs(NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_builder_cnode(NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_builder_to_string(NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_builder_finish(NULL, &s), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_jid_node(NULL, msg, sizeof msg, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_jid_domain(NULL, msg, sizeof msg, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_jid_resource(NULL, msg, sizeof msg, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_jid_bare(NULL, msg, sizeof msg, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_jid_escape_node(NULL, msg, sizeof msg, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_jid_unescape_node(NULL, msg, sizeof msg, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_jid_validate(NULL), EPODE_ERR_NULL_ARG);
    CHECK(epode_last_error(NULL, 0) > 0);
    epode_stanza_free(NULL);
    epode_builder_free(NULL);
    epode_string_free(NULL);

    /* A control character cannot be put into XML. */
    CHECK_RESULT(epode_stanza_new("a", &s), EPODE_OK);
    CHECK_RESULT(epode_stanza_append_text(s, "bell\x07"), EPODE_ERR_INVALID_ARG);
    CHECK_RESULT(epode_stanza_set_attr(s, "x y", "1"), EPODE_ERR_INVALID_ARG);
    epode_stanza_free(s);
}

static void test_xmpp_restrictions(void) {
    /* XML that is not well-formed, or that XMPP does not allow on the wire
     * (RFC 6120 section 11.1), is EPODE_ERR_MALFORMED_XML with a message
     * naming the fault, and *out is left as it was. */
    static const struct {
        const char *xml;
        const char *why;
    } refused[] = {
        {"<message><!-- note --><body>hi</body></message>", "comments"},
        {"<?pi x?><message/>", "processing instructions"},
        {"<message><body><![CDATA[<hi>]]></body></message>", "CDATA"},
        {"<?xml version='1.0'?><message/>", "XML declaration"},
        {"<a x='1'y='2'/>", "white space"},
        {"<xml:a/>", "'xml' prefix"},
        {"<a xmlns:p=''/>", "xmlns:p=''"},
        {"<a>]]></a>", "]]>"},
        {"<a>&#0;</a>", "character reference"},
        {"<a>&#x1;</a>", "character reference"},
        {"<a>&nbsp;</a>", "nbsp"},
    };
    static int sentinel;
    epode_stanza *const untouched = (epode_stanza *)(void *)&sentinel;
    char msg[512];
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        epode_stanza *s = untouched;
        CHECK_RESULT(epode_stanza_parse(refused[i].xml, &s), EPODE_ERR_MALFORMED_XML);
        CHECK(s == untouched);
        CHECK(epode_last_error(msg, sizeof msg) > 0);
        if (strstr(msg, refused[i].why) == NULL) {
            fprintf(stderr, "%s: message \"%s\" does not name \"%s\"\n", refused[i].xml, msg, refused[i].why);
            CHECK(strstr(msg, refused[i].why) != NULL);
        }
    }

    /* What XMPP allows still parses: prefixes, the five entities, character
     * references, both quote styles, UTF-8, any white space between
     * attributes. */
    epode_stanza *s = NULL;
    CHECK_RESULT(epode_stanza_parse("<x:a xmlns:x='urn:x' b=\"1\"\n\tc='it&apos;s'>"
                                    "&lt;&gt;&amp;&quot;&apos;&#65;&#x1F600; \xc3\xa9</x:a>",
                                    &s),
                 EPODE_OK);
    char *xml = serialize(s);
    CHECK(strcmp(xml, "<x:a xmlns:x=\"urn:x\" b=\"1\" c=\"it&apos;s\">"
                      "&lt;&gt;&amp;\"'A\xf0\x9f\x98\x80 \xc3\xa9</x:a>") == 0);
    free(xml);
    epode_stanza_free(s);
}

static void test_big_text(void) {
    /* A 1 MB text node parses and round-trips. */
    size_t size = 1024 * 1024;
    char *xml = (char *)malloc(size + 16);
    strcpy(xml, "<a>");
    memset(xml + 3, 'x', size);
    strcpy(xml + 3 + size, "</a>");
    epode_stanza *s = NULL;
    CHECK_RESULT(epode_stanza_parse(xml, &s), EPODE_OK);
    size_t len = 0;
    CHECK_RESULT(epode_stanza_text(s, NULL, 0, &len), EPODE_ERR_BUFFER_TOO_SMALL);
    CHECK(len == size);
    epode_stanza_free(s);
    free(xml);
}

int main(void) {
    test_version();
    test_status_names();
    test_parse_and_read();
    test_build();
    test_jid();
    test_bad_input();
    test_xmpp_restrictions();
    test_big_text();
    return check_summary("stanza_jid_test");
}
