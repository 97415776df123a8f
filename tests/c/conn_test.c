/* The connection API from C: bad input of every kind, calls in the wrong
 * state, userdata ownership, and a real session against the private
 * Prosody named by $EPODE_TEST_PROSODY (the test fails without it). */
#include "epode.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static char ws_url[1024];

static int load_server(void) {
    return server_env("EPODE_TEST_PROSODY", "XMPP_WS_URL", ws_url, sizeof ws_url);
}

static int frees = 0;
static void count_free(void *userdata) {
    (void)userdata;
    frees++;
}

static void ignore_status(void *ud, epode_conn *c, epode_status s, const char *cond, const epode_stanza *st) {
    (void)ud;
    (void)c;
    (void)s;
    (void)cond;
    (void)st;
}
static int keep_handler(void *ud, epode_conn *c, const epode_stanza *s) {
    (void)ud;
    (void)c;
    (void)s;
    return EPODE_HANDLER_KEEP;
}
static int keep_timed(void *ud, epode_conn *c) {
    (void)ud;
    (void)c;
    return EPODE_HANDLER_KEEP;
}
static void ignore_text(void *ud, epode_conn *c, const char *t) {
    (void)ud;
    (void)c;
    (void)t;
}
static void ignore_xml(void *ud, epode_conn *c, const epode_stanza *s) {
    (void)ud;
    (void)c;
    (void)s;
}
static void ignore_code(void *ud, epode_conn *c, int code) {
    (void)ud;
    (void)c;
    (void)code;
}

static void test_null_arguments(void) {
    epode_options *o = NULL;
    epode_conn *c = NULL;
    char buf[64];
    bool flag;
    epode_status st;
    uint64_t id;
    CHECK_RESULT(epode_options_new(NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_options_set(NULL, "sync", "true"), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_options_new(&o), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, NULL, "x"), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_options_set(o, "sync", NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_new(NULL, o, &c), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_new("ws://127.0.0.1:1/ws", o, NULL), EPODE_ERR_NULL_ARG);
    epode_options_free(o);
    epode_options_free(NULL);

    CHECK_RESULT(epode_conn_connect(NULL, "a@b", "p", NULL, ignore_status, NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_disconnect(NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_attach(NULL, "a@b/r", "sid", 1, ignore_status, NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_attach_shared(NULL, ignore_status, NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_restore(NULL, NULL, ignore_status, NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_send(NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_send_raw(NULL, "<a/>"), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_send_iq(NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_send_presence(NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_add_handler(NULL, NULL, NULL, NULL, NULL, NULL, 0, keep_handler, NULL, NULL, &id),
                 EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_delete_handler(NULL, 1), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_add_timed_handler(NULL, 10, keep_timed, NULL, NULL, &id), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_delete_timed_handler(NULL, 1), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_add_protocol_error_handler(NULL, "websocket", 1008, ignore_code, NULL, NULL),
                 EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_set_raw_input(NULL, ignore_text, NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_set_raw_output(NULL, ignore_text, NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_set_xml_input(NULL, ignore_xml, NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_set_xml_output(NULL, ignore_xml, NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_bind(NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_pause(NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_resume(NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_flush(NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_set_sync(NULL, true), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_run_once(NULL, 0), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_jid(NULL, buf, sizeof buf, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_authzid(NULL, buf, sizeof buf, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_domain(NULL, buf, sizeof buf, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_flags(NULL, &flag, NULL, NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_status(NULL, &st), EPODE_ERR_NULL_ARG);
    CHECK(epode_conn_last_error(NULL, buf, sizeof buf) > 0);
    CHECK_RESULT(epode_conn_free(NULL), EPODE_OK);

    /* Callbacks are required where a callback is the point. */
    CHECK_RESULT(epode_conn_new("ws://127.0.0.1:1/ws", NULL, &c), EPODE_OK);
    CHECK_RESULT(epode_conn_connect(c, "a@b", "p", NULL, NULL, NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_connect(c, NULL, "p", NULL, ignore_status, NULL, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_add_handler(c, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, &id), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_add_timed_handler(c, 10, NULL, NULL, NULL, &id), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_status(c, NULL), EPODE_ERR_NULL_ARG);
    CHECK(epode_conn_last_error(c, buf, sizeof buf) > 0 && strstr(buf, "NULL") != NULL);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);
}

static void test_bad_values_and_wrong_state(void) {
    epode_options *o = NULL;
    epode_conn *c = NULL;
    char buf[256];
    CHECK_RESULT(epode_options_new(&o), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "no_such_option", "1"), EPODE_ERR_UNKNOWN_OPTION);
    CHECK_RESULT(epode_options_set(o, "sync", "perhaps"), EPODE_ERR_INVALID_ARG);
    CHECK_RESULT(epode_options_set(o, "customHeaders", "no colon"), EPODE_ERR_INVALID_ARG);
    CHECK_RESULT(epode_options_set(o, "customHeaders", "X-A: b\r\nX-Injected: c"), EPODE_ERR_INVALID_ARG);
    CHECK_RESULT(epode_options_set(o, "protocol", "\xff"), EPODE_ERR_INVALID_UTF8);
    /* Numbers outside their range: refused, named with the range, and the
     * old value stays (Strophe's defaults here). */
    const char *bad_timeouts[] = {"inf", "nan", "-1.5", "1e300", "0.5", ""};
    for (size_t i = 0; i < sizeof bad_timeouts / sizeof bad_timeouts[0]; i++) {
        CHECK_RESULT(epode_options_set(o, "TIMEOUT", bad_timeouts[i]), EPODE_ERR_INVALID_ARG);
        CHECK(epode_last_error(buf, sizeof buf) > 0 &&
              strstr(buf, "TIMEOUT must be a finite number from 1.0 to 10.0, not \"") != NULL);
    }
    CHECK_RESULT(epode_options_set(o, "disconnection_timeout", "18446744073709551615"), EPODE_ERR_INVALID_ARG);
    CHECK(epode_last_error(buf, sizeof buf) > 0 &&
          strstr(buf, "disconnection_timeout must be a whole number of milliseconds from 0 to 86400000") != NULL &&
          strstr(buf, "\"18446744073709551615\"") != NULL);
    CHECK_RESULT(epode_options_set(o, "disconnection_timeout", "-1"), EPODE_ERR_INVALID_ARG);
    CHECK_RESULT(epode_options_set(o, "wait", "0"), EPODE_ERR_INVALID_ARG);
    CHECK_RESULT(epode_options_set(o, "max_stanza_bytes", "1023"), EPODE_ERR_INVALID_ARG);
    size_t len = 0;
    CHECK_RESULT(epode_options_get(o, "TIMEOUT", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "1.1") == 0);
    CHECK_RESULT(epode_options_get(o, "disconnection_timeout", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "3000") == 0);
    CHECK_RESULT(epode_options_set(o, "TIMEOUT", "10.0"), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "disconnection_timeout", "86400000"), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "disconnection_timeout", "0"), EPODE_OK);
    CHECK_RESULT(epode_conn_new("/relative/without/origin", o, &c), EPODE_ERR_INVALID_ARG);
    CHECK_RESULT(epode_conn_new("gopher://x", o, &c), EPODE_ERR_INVALID_ARG);
    CHECK_RESULT(epode_options_set(o, "worker", "tabs"), EPODE_OK);
    CHECK_RESULT(epode_conn_new("http://127.0.0.1:1/http-bind", o, &c), EPODE_ERR_INVALID_ARG); /* seed 000 */
    CHECK(c == NULL);
    epode_options_free(o);

    CHECK_RESULT(epode_conn_new("ws://127.0.0.1:1/ws", NULL, &c), EPODE_OK);
    epode_stanza *msg = NULL;
    CHECK_RESULT(epode_stanza_parse("<message xmlns='jabber:client' to='a@b'/>", &msg), EPODE_OK);
    CHECK_RESULT(epode_conn_send(c, msg), EPODE_ERR_WRONG_STATE);
    CHECK_RESULT(epode_conn_bind(c), EPODE_ERR_WRONG_STATE);
    /* attach and restore are BOSH's; this is a WebSocket connection. */
    CHECK_RESULT(epode_conn_attach(c, "a@b/r", "sid", 1, ignore_status, NULL, NULL), EPODE_ERR_WRONG_STATE);
    CHECK_RESULT(epode_conn_restore(c, NULL, ignore_status, NULL, NULL), EPODE_ERR_WRONG_STATE);
    /* attach_shared needs the worker option. */
    CHECK_RESULT(epode_conn_attach_shared(c, ignore_status, NULL, NULL), EPODE_ERR_WRONG_STATE);
    CHECK_RESULT(epode_conn_run_once(c, 0), EPODE_ERR_WRONG_STATE); /* not in sync mode */
    CHECK_RESULT(epode_conn_status(c, NULL), EPODE_ERR_NULL_ARG);
    epode_status st;
    CHECK_RESULT(epode_conn_status(c, &st), EPODE_ERR_NOT_FOUND);
    /* Without a session disconnect is no error: as in Strophe, DISCONNECTING
     * and DISCONNECTED follow at once (test_disconnect_without_session). */
    CHECK_RESULT(epode_conn_disconnect(c, NULL), EPODE_OK);
    CHECK_RESULT(epode_conn_connect(c, "@nope", "p", NULL, ignore_status, NULL, NULL), EPODE_ERR_INVALID_JID);
    CHECK_RESULT(epode_conn_connect(c, "a@b\xc3", "p", NULL, ignore_status, NULL, NULL), EPODE_ERR_INVALID_UTF8);
    CHECK(epode_conn_last_error(c, buf, sizeof buf) > 0 && strstr(buf, "UTF-8") != NULL);
    epode_stanza_free(msg);

    /* userdata_free runs exactly once, when the handler goes with the connection. */
    frees = 0;
    uint64_t id = 0;
    CHECK_RESULT(epode_conn_add_handler(c, "jabber:client", "message", "chat,normal", NULL, NULL, EPODE_MATCH_BARE_FROM,
                                        keep_handler, NULL, count_free, &id),
                 EPODE_OK);
    CHECK(id != 0);
    CHECK_RESULT(epode_conn_add_timed_handler(c, 1000, keep_timed, NULL, count_free, &id), EPODE_OK);
    CHECK_RESULT(epode_conn_set_raw_input(c, ignore_text, NULL, count_free), EPODE_OK);
    CHECK_RESULT(epode_conn_add_protocol_error_handler(c, "websocket", -5, ignore_code, NULL, count_free),
                 EPODE_ERR_INVALID_ARG);
    CHECK(frees == 1); /* refused registrations free their userdata at once */
    /* Only the protocols that report errors: a "gopher" handler would never run. */
    CHECK_RESULT(epode_conn_add_protocol_error_handler(c, "gopher", 404, ignore_code, NULL, count_free),
                 EPODE_ERR_INVALID_ARG);
    CHECK(epode_conn_last_error(c, buf, sizeof buf) > 0 && strstr(buf, "\"HTTP\" or \"websocket\"") != NULL);
    CHECK(frees == 2);
    CHECK_RESULT(epode_conn_add_protocol_error_handler(c, "HTTP", 503, ignore_code, NULL, count_free), EPODE_OK);
    CHECK_RESULT(epode_conn_add_protocol_error_handler(c, "websocket", 1008, ignore_code, NULL, count_free), EPODE_OK);
    CHECK(frees == 2);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);
    CHECK(frees == 7);
}

struct session {
    int connected, disconnected, freed_in_callback, iq_results, messages;
    int headline_or_untyped, chats;
    epode_result free_result;
};

static void on_status(void *ud, epode_conn *c, epode_status status, const char *cond, const epode_stanza *st) {
    struct session *s = (struct session *)ud;
    (void)cond;
    (void)st;
    if (status == EPODE_STATUS_CONNECTED) s->connected++;
    if (status == EPODE_STATUS_DISCONNECTED) s->disconnected++;
    /* Freeing the connection from its own callback would wait for itself. */
    if (status == EPODE_STATUS_CONNECTED) s->free_result = epode_conn_free(c);
}

static int on_message(void *ud, epode_conn *c, const epode_stanza *st) {
    (void)c;
    (void)st;
    ((struct session *)ud)->messages++;
    return EPODE_HANDLER_REMOVE;
}

static int on_headline_or_untyped(void *ud, epode_conn *c, const epode_stanza *st) {
    (void)c;
    (void)st;
    ((struct session *)ud)->headline_or_untyped++;
    return EPODE_HANDLER_KEEP;
}

static int on_chat(void *ud, epode_conn *c, const epode_stanza *st) {
    (void)c;
    (void)st;
    ((struct session *)ud)->chats++;
    return EPODE_HANDLER_KEEP;
}

static void on_ping(void *ud, epode_conn *c, const epode_stanza *st) {
    (void)c;
    char type[16] = "";
    if (st) epode_stanza_attr(st, "type", type, sizeof type, NULL);
    if (strcmp(type, "result") == 0) ((struct session *)ud)->iq_results++;
}

static void test_real_session(void) {
    if (!load_server()) {
        CHECK(!"a Prosody test server (EPODE_TEST_PROSODY) is required");
        return;
    }
    epode_options *o = NULL;
    epode_conn *c = NULL;
    struct session s;
    memset(&s, 0, sizeof s);
    CHECK_RESULT(epode_options_new(&o), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "sync", "true"), EPODE_OK);
    CHECK_RESULT(epode_conn_new(ws_url, o, &c), EPODE_OK);
    epode_options_free(o);
    frees = 0;
    CHECK_RESULT(epode_conn_connect(c, "alice@localhost", "alice-pass", NULL, on_status, &s, count_free), EPODE_OK);
    CHECK(s.connected == 1);
    CHECK(s.free_result == EPODE_ERR_WOULD_DEADLOCK);
    bool authenticated = false;
    CHECK_RESULT(epode_conn_flags(c, &authenticated, NULL, NULL, NULL), EPODE_OK);
    CHECK(authenticated);
    char jid[256];
    CHECK_RESULT(epode_conn_jid(c, jid, sizeof jid, NULL), EPODE_OK);
    CHECK(strncmp(jid, "alice@localhost/", 16) == 0);

    /* Malformed or non-UTF-8 raw XML is refused whole, and the session goes on. */
    CHECK_RESULT(epode_conn_send_raw(c, "<message><body>half"), EPODE_ERR_MALFORMED_XML);
    CHECK_RESULT(epode_conn_send_raw(c, "<message>\xff</message>"), EPODE_ERR_INVALID_UTF8);
    CHECK_RESULT(epode_conn_send_raw(c, "<a/><b/>"), EPODE_ERR_MALFORMED_XML);

    /* A message to ourselves comes back through a handler. */
    uint64_t hid = 0;
    CHECK_RESULT(epode_conn_add_handler(c, NULL, "message", NULL, NULL, NULL, 0, on_message, &s, NULL, &hid), EPODE_OK);
    char raw[512];
    snprintf(raw, sizeof raw, "<message xmlns='jabber:client' to='%s' type='chat'><body>hi</body></message>", jid);
    CHECK_RESULT(epode_conn_send_raw(c, raw), EPODE_OK);
    epode_stanza *ping = NULL;
    CHECK_RESULT(epode_stanza_parse(
                     "<iq xmlns='jabber:client' type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>", &ping),
                 EPODE_OK);
    char id[64] = "";
    CHECK_RESULT(epode_conn_send_iq(c, ping, on_ping, on_ping, &s, NULL, 5000, id, sizeof id), EPODE_OK);
    CHECK(id[0] != '\0');
    epode_stanza_free(ping);
    for (int i = 0; i < 50 && (s.messages == 0 || s.iq_results == 0); i++) epode_conn_run_once(c, 100);
    CHECK(s.messages == 1);
    CHECK(s.iq_results == 1);

    /* An empty entry in a type list is Strophe's "": no type at all. */
    CHECK_RESULT(
        epode_conn_add_handler(c, NULL, "message", "headline,", NULL, NULL, 0, on_headline_or_untyped, &s, NULL, &hid),
        EPODE_OK);
    CHECK_RESULT(epode_conn_add_handler(c, NULL, "message", "chat", NULL, NULL, 0, on_chat, &s, NULL, &hid), EPODE_OK);
    const char *types[] = {" type='chat'", "", " type='headline'", " type='normal'", " type='chat'"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        snprintf(raw, sizeof raw, "<message xmlns='jabber:client' to='%s'%s><body>%zu</body></message>", jid, types[i],
                 i);
        CHECK_RESULT(epode_conn_send_raw(c, raw), EPODE_OK);
    }
    /* They come back in order: the second chat message comes last. */
    for (int i = 0; i < 50 && s.chats < 2; i++) epode_conn_run_once(c, 100);
    CHECK(s.chats == 2);
    CHECK(s.headline_or_untyped == 2);

    CHECK_RESULT(epode_conn_disconnect(c, "bye"), EPODE_OK);
    CHECK(s.disconnected == 1);
    /* Again, with the session over: as in Strophe, the last status callback
     * hears DISCONNECTING and DISCONNECTED once more. */
    CHECK_RESULT(epode_conn_disconnect(c, NULL), EPODE_OK);
    CHECK(s.disconnected == 2);
    CHECK(frees == 0);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);
    CHECK(frees == 1);
}

/* disconnect() on a connection that never connected: no error; as in
 * Strophe, DISCONNECTING then DISCONNECTED (nobody to tell but the status
 * getter). In sync mode it returns with the status set. */
static void test_disconnect_without_session(void) {
    epode_options *o = NULL;
    epode_conn *c = NULL;
    epode_status st;
    CHECK_RESULT(epode_options_new(&o), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "sync", "true"), EPODE_OK);
    CHECK_RESULT(epode_conn_new("ws://127.0.0.1:1/ws", o, &c), EPODE_OK);
    epode_options_free(o);
    CHECK_RESULT(epode_conn_status(c, &st), EPODE_ERR_NOT_FOUND);
    CHECK_RESULT(epode_conn_disconnect(c, "bye"), EPODE_OK);
    CHECK_RESULT(epode_conn_status(c, &st), EPODE_OK);
    CHECK(st == EPODE_STATUS_DISCONNECTED);
    bool connected = true, disconnecting = true;
    CHECK_RESULT(epode_conn_flags(c, NULL, &connected, &disconnecting, NULL), EPODE_OK);
    CHECK(!connected && !disconnecting);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);
}

/* A WebSocket that cannot be opened: CONNFAIL with Strophe's fixed text,
 * and the error behind it (the URL, the refusal) in the last error. */
static char refused_condition[256];
static void on_refused_status(void *ud, epode_conn *c, epode_status status, const char *cond, const epode_stanza *st) {
    (void)ud;
    (void)c;
    (void)st;
    if (status == EPODE_STATUS_CONNFAIL && cond) snprintf(refused_condition, sizeof refused_condition, "%s", cond);
}

static void test_refused_websocket(void) {
    epode_options *o = NULL;
    epode_conn *c = NULL;
    char buf[512] = "";
    CHECK_RESULT(epode_options_new(&o), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "sync", "true"), EPODE_OK);
    CHECK_RESULT(epode_conn_new("ws://127.0.0.1:1/ws", o, &c), EPODE_OK);
    epode_options_free(o);
    epode_conn_connect(c, "alice@localhost", "pw", NULL, on_refused_status, NULL, NULL);
    CHECK(strcmp(refused_condition, "The WebSocket connection could not be established or was disconnected.") == 0);
    CHECK(epode_conn_last_error(c, buf, sizeof buf) > 0);
    CHECK(strstr(buf, "ws://127.0.0.1:1/ws: I/O error") != NULL);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);
}

/* A wrong password: AUTHFAIL "not-authorized" with the server's SASL
 * <failure/> as the callback's stanza (Strophe passes it), then DISCONNECTED. */
struct authfail {
    int authfails, disconnected, failure_ok, other_stanzas;
};

static void on_authfail_status(void *ud, epode_conn *c, epode_status status, const char *cond, const epode_stanza *st) {
    struct authfail *a = (struct authfail *)ud;
    (void)c;
    if (status == EPODE_STATUS_DISCONNECTED) a->disconnected++;
    if (status != EPODE_STATUS_AUTHFAIL) {
        if (st != NULL) a->other_stanzas++;
        return;
    }
    a->authfails++;
    char name[32] = "", ns[64] = "";
    const epode_stanza *reason = NULL;
    if (st != NULL && cond != NULL && strcmp(cond, "not-authorized") == 0 &&
        epode_stanza_name(st, name, sizeof name, NULL) == EPODE_OK &&
        epode_stanza_attr(st, "xmlns", ns, sizeof ns, NULL) == EPODE_OK &&
        epode_stanza_find_child(st, "not-authorized", NULL, &reason) == EPODE_OK && strcmp(name, "failure") == 0 &&
        strcmp(ns, "urn:ietf:params:xml:ns:xmpp-sasl") == 0 && reason != NULL)
        a->failure_ok++;
}

static void test_wrong_password(void) {
    if (!load_server()) {
        CHECK(!"a Prosody test server (EPODE_TEST_PROSODY) is required");
        return;
    }
    epode_options *o = NULL;
    epode_conn *c = NULL;
    struct authfail a;
    memset(&a, 0, sizeof a);
    CHECK_RESULT(epode_options_new(&o), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "sync", "true"), EPODE_OK);
    CHECK_RESULT(epode_conn_new(ws_url, o, &c), EPODE_OK);
    epode_options_free(o);
    CHECK_RESULT(epode_conn_connect(c, "alice@localhost", "wrong", NULL, on_authfail_status, &a, NULL), EPODE_OK);
    for (int i = 0; i < 50 && a.disconnected == 0; i++) epode_conn_run_once(c, 100);
    CHECK(a.authfails == 1);
    CHECK(a.failure_ok == 1);
    CHECK(a.other_stanzas == 0);
    CHECK(a.disconnected == 1);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);
}

/* A SASL mechanism written in C: PLAIN, registered above every built-in. */
struct plain_mech {
    int starts, challenges, successes;
};

static epode_result c_plain(void *userdata, epode_sasl_step step, const uint8_t *input, size_t input_len,
                            epode_sasl_out *out) {
    struct plain_mech *m = (struct plain_mech *)userdata;
    (void)input;
    switch (step) {
    case EPODE_SASL_START: {
        static const char creds[] = "\0bob\0bob-pass";
        m->starts++;
        return epode_sasl_out_set(out, (const uint8_t *)creds, sizeof creds - 1);
    }
    case EPODE_SASL_CHALLENGE:
        m->challenges++;
        return EPODE_ERR_OTHER; /* PLAIN has no challenges */
    case EPODE_SASL_SUCCESS:
        m->successes++;
        return input_len == 0 ? EPODE_OK : EPODE_ERR_OTHER;
    }
    return EPODE_ERR_OTHER;
}

static void test_custom_mechanism(void) {
    if (ws_url[0] == '\0' && !load_server()) {
        CHECK(!"a Prosody test server (EPODE_TEST_PROSODY) is required");
        return;
    }
    epode_options *o = NULL;
    epode_conn *c = NULL;
    struct session s;
    struct plain_mech m;
    memset(&s, 0, sizeof s);
    memset(&m, 0, sizeof m);
    CHECK_RESULT(epode_options_new(&o), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "sync", "true"), EPODE_OK);
    CHECK_RESULT(epode_conn_new(ws_url, o, &c), EPODE_OK);
    epode_options_free(o);
    frees = 0;
    CHECK_RESULT(epode_conn_register_mechanism(c, "bad name!", 99, true, c_plain, &m, count_free),
                 EPODE_ERR_INVALID_ARG);
    CHECK(frees == 1);
    CHECK_RESULT(epode_conn_register_mechanism(c, "PLAIN", 99, true, NULL, &m, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_register_mechanism(c, "PLAIN", 99, true, c_plain, &m, count_free), EPODE_OK);
    CHECK_RESULT(epode_sasl_out_set(NULL, NULL, 0), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_connect(c, "bob@localhost", NULL, NULL, on_status, &s, NULL), EPODE_OK);
    CHECK(m.starts == 1 && m.challenges == 0 && m.successes == 1);
    /* on_status tried to free the connection from its own callback: refused. */
    CHECK(s.connected == 1 && s.free_result == EPODE_ERR_WOULD_DEADLOCK);
    CHECK_RESULT(epode_conn_disconnect(c, NULL), EPODE_OK);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);
    CHECK(frees == 2);
}

static void test_getters(void) {
    epode_options *o = NULL;
    epode_conn *c = NULL;
    char buf[256];
    size_t len = 0;
    uint32_t retries = 0;
    uint64_t timeout_ms = 0;
    CHECK_RESULT(epode_conn_service(NULL, buf, sizeof buf, &len), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_max_retries(NULL, &retries), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_disconnection_timeout(NULL, &timeout_ms), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_option(NULL, "wait", buf, sizeof buf, &len), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_options_get(NULL, "wait", buf, sizeof buf, &len), EPODE_ERR_NULL_ARG);

    /* Strophe's defaults, read from a connection made without options. */
    CHECK_RESULT(epode_conn_new("WS://127.0.0.1:1/ws", NULL, &c), EPODE_OK);
    CHECK_RESULT(epode_conn_max_retries(c, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_disconnection_timeout(c, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_option(c, NULL, buf, sizeof buf, &len), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_max_retries(c, &retries), EPODE_OK);
    CHECK(retries == 5);
    CHECK_RESULT(epode_conn_disconnection_timeout(c, &timeout_ms), EPODE_OK);
    CHECK(timeout_ms == 3000);
    CHECK_RESULT(epode_conn_service(c, buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "ws://127.0.0.1:1/ws") == 0 && len == strlen(buf)); /* scheme in lower case */
    CHECK_RESULT(epode_conn_option(c, "mechanisms", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "") == 0 && len == 0);
    CHECK_RESULT(epode_conn_option(c, "no_such_option", buf, sizeof buf, &len), EPODE_ERR_UNKNOWN_OPTION);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);

    /* Options set by name read back, from the options and from the connection. */
    CHECK_RESULT(epode_options_new(&o), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "maxRetries", "7"), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "disconnection_timeout", "1500"), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "origin", "https://example.com/app"), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "protocol", "ws"), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "customHeaders", "X-A: 1"), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "customHeaders", "X-B: 2"), EPODE_OK);
    CHECK_RESULT(epode_options_get(o, "maxRetries", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "7") == 0);
    CHECK_RESULT(epode_options_get(o, "bogus", buf, sizeof buf, &len), EPODE_ERR_UNKNOWN_OPTION);
    CHECK_RESULT(epode_conn_new("/xmpp-websocket", o, &c), EPODE_OK);
    epode_options_free(o);
    CHECK_RESULT(epode_conn_max_retries(c, &retries), EPODE_OK);
    CHECK(retries == 7);
    CHECK_RESULT(epode_conn_disconnection_timeout(c, &timeout_ms), EPODE_OK);
    CHECK(timeout_ms == 1500);
    /* A relative service is resolved against origin; https never downgrades. */
    CHECK_RESULT(epode_conn_service(c, buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "wss://example.com/xmpp-websocket") == 0);
    CHECK_RESULT(epode_conn_option(c, "customHeaders", buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, "X-A: 1\nX-B: 2") == 0 && len == 13);
    CHECK_RESULT(epode_conn_option(c, "sync", buf, sizeof buf, NULL), EPODE_OK);
    CHECK(strcmp(buf, "false") == 0);
    CHECK_RESULT(epode_conn_set_sync(c, true), EPODE_OK);
    CHECK_RESULT(epode_conn_option(c, "sync", buf, sizeof buf, NULL), EPODE_OK);
    CHECK(strcmp(buf, "true") == 0); /* the current mode, not the creation value */

    /* Too small a buffer: *len says what is needed, the buffer is untouched. */
    char small[8];
    memset(small, 'x', sizeof small);
    len = 0;
    CHECK_RESULT(epode_conn_service(c, small, sizeof small, &len), EPODE_ERR_BUFFER_TOO_SMALL);
    CHECK(len == strlen("wss://example.com/xmpp-websocket"));
    CHECK(small[0] == 'x' && small[7] == 'x');
    CHECK_RESULT(epode_conn_option(c, "origin", small, sizeof small, &len), EPODE_ERR_BUFFER_TOO_SMALL);
    CHECK(len == strlen("https://example.com/app") && small[0] == 'x');
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);
}

/* What a log handler saw. */
struct log_seen {
    int lines, debug, below_level, connected, sent, sasl_redacted, secret;
    int min_level;
};

static void on_log(void *ud, epode_conn *c, int level, const char *message) {
    struct log_seen *l = (struct log_seen *)ud;
    (void)c;
    l->lines++;
    if (level == EPODE_LOG_DEBUG) l->debug++;
    if (level < l->min_level) l->below_level++;
    if (strcmp(message, "status CONNECTED") == 0) l->connected++;
    if (strncmp(message, "SENT <message", 13) == 0) l->sent++;
    if (strstr(message, "(SASL payload not logged) mechanism PLAIN") != NULL) l->sasl_redacted++;
    /* The password, and PLAIN's base64 payload "\0alice\0alice-pass". */
    if (strstr(message, "alice-pass") != NULL || strstr(message, "AGFsaWNlAGFsaWNlLXBhc3M") != NULL) l->secret++;
}

/* Logs alice in (sync, PLAIN), sends one message, disconnects. */
static void logged_session(epode_conn **out, struct log_seen *l, int level, int use_default) {
    epode_options *o = NULL;
    epode_conn *c = NULL;
    CHECK_RESULT(epode_options_new(&o), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "sync", "true"), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "mechanisms", "PLAIN"), EPODE_OK);
    CHECK_RESULT(epode_conn_new(ws_url, o, &c), EPODE_OK);
    epode_options_free(o);
    l->min_level = level;
    if (!use_default) CHECK_RESULT(epode_conn_set_log_handler(c, level, on_log, l, count_free), EPODE_OK);
    CHECK_RESULT(epode_conn_connect(c, "alice@localhost", "alice-pass", NULL, ignore_status, NULL, NULL), EPODE_OK);
    CHECK_RESULT(epode_conn_send_raw(c, "<message xmlns='jabber:client' to='bob@localhost'><body>x</body></message>"),
                 EPODE_OK);
    CHECK_RESULT(epode_conn_disconnect(c, NULL), EPODE_OK);
    *out = c;
}

static void test_logging(void) {
    if (ws_url[0] == '\0' && !load_server()) {
        CHECK(!"a Prosody test server (EPODE_TEST_PROSODY) is required");
        return;
    }
    CHECK(strcmp(epode_log_level_name(EPODE_LOG_WARN), "WARN") == 0);
    CHECK(strcmp(epode_log_level_name(7), "UNKNOWN") == 0);

    /* Failed registrations still free the userdata, once. */
    frees = 0;
    CHECK_RESULT(epode_conn_set_log_handler(NULL, EPODE_LOG_DEBUG, on_log, NULL, count_free), EPODE_ERR_NULL_ARG);
    CHECK(frees == 1);
    epode_conn *c = NULL;
    CHECK_RESULT(epode_conn_new(ws_url, NULL, &c), EPODE_OK);
    CHECK_RESULT(epode_conn_set_log_handler(c, 4, on_log, NULL, count_free), EPODE_ERR_INVALID_ARG);
    CHECK(frees == 2);
    CHECK_RESULT(epode_set_default_log_handler(-1, on_log, NULL, count_free), EPODE_ERR_INVALID_ARG);
    CHECK(frees == 3);
    /* Replacing and clearing free the previous userdata. */
    CHECK_RESULT(epode_conn_set_log_handler(c, EPODE_LOG_INFO, on_log, NULL, count_free), EPODE_OK);
    CHECK_RESULT(epode_conn_set_log_handler(c, EPODE_LOG_INFO, epode_log_stderr, NULL, count_free), EPODE_OK);
    CHECK(frees == 4);
    CHECK_RESULT(epode_conn_set_log_handler(c, 0, NULL, NULL, NULL), EPODE_OK);
    CHECK(frees == 5);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);

    /* DEBUG: the whole session, but never the password or the PLAIN payload. */
    struct log_seen l;
    memset(&l, 0, sizeof l);
    frees = 0;
    logged_session(&c, &l, EPODE_LOG_DEBUG, 0);
    CHECK(l.connected == 1 && l.sent == 1 && l.sasl_redacted == 1 && l.debug > 0);
    CHECK(l.secret == 0);
    CHECK(frees == 0);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);
    CHECK(frees == 1); /* freed with the connection */

    /* INFO: statuses, no traffic. */
    memset(&l, 0, sizeof l);
    logged_session(&c, &l, EPODE_LOG_INFO, 0);
    CHECK(l.connected == 1 && l.debug == 0 && l.sent == 0 && l.lines > 0 && l.below_level == 0);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);

    /* The process-wide default: connections without their own handler. */
    struct log_seen d;
    memset(&d, 0, sizeof d);
    frees = 0;
    CHECK_RESULT(epode_set_default_log_handler(EPODE_LOG_DEBUG, on_log, &d, count_free), EPODE_OK);
    logged_session(&c, &d, EPODE_LOG_DEBUG, 1);
    CHECK(d.connected == 1 && d.sent == 1 && d.secret == 0);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);
    CHECK(frees == 0);
    CHECK_RESULT(epode_set_default_log_handler(EPODE_LOG_DEBUG, NULL, NULL, NULL), EPODE_OK);
    CHECK(frees == 1);
}

/* Two handles of one worker in sync mode: the second attaches to the
 * first one's session and the first hears the second's disconnect. */
struct shared_status {
    int attached, attach_failed, disconnected;
};

static void on_shared_status(void *ud, epode_conn *c, epode_status status, const char *cond, const epode_stanza *st) {
    struct shared_status *s = (struct shared_status *)ud;
    (void)c;
    (void)cond;
    (void)st;
    if (status == EPODE_STATUS_ATTACHED) s->attached++;
    if (status == EPODE_STATUS_ATTACHFAIL) s->attach_failed++;
    if (status == EPODE_STATUS_DISCONNECTED) s->disconnected++;
}

static epode_conn *worker_conn(void) {
    epode_options *o = NULL;
    epode_conn *c = NULL;
    CHECK_RESULT(epode_options_new(&o), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "sync", "true"), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "worker", "conn-test"), EPODE_OK);
    CHECK_RESULT(epode_conn_new(ws_url, o, &c), EPODE_OK);
    epode_options_free(o);
    return c;
}

static void test_shared_worker(void) {
    if (ws_url[0] == '\0' && !load_server()) {
        CHECK(!"a Prosody test server (EPODE_TEST_PROSODY) is required");
        return;
    }
    epode_conn *a = worker_conn(), *b = worker_conn();
    struct session sa;
    struct shared_status sb;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    frees = 0;
    /* Nothing to join yet. */
    CHECK_RESULT(epode_conn_attach_shared(b, on_shared_status, &sb, count_free), EPODE_OK);
    CHECK(sb.attach_failed == 1 && sb.disconnected == 1);
    CHECK(frees == 0);
    CHECK_RESULT(epode_conn_connect(a, "carol@localhost", "carol-pass", NULL, on_status, &sa, NULL), EPODE_OK);
    CHECK(sa.connected == 1);
    CHECK_RESULT(epode_conn_attach_shared(b, on_shared_status, &sb, count_free), EPODE_OK);
    CHECK(sb.attached == 1);
    CHECK(frees == 1); /* the first callback's userdata went with its attach */
    char ja[256] = "", jb[256] = "";
    CHECK_RESULT(epode_conn_jid(a, ja, sizeof ja, NULL), EPODE_OK);
    CHECK_RESULT(epode_conn_jid(b, jb, sizeof jb, NULL), EPODE_OK);
    CHECK(ja[0] != '\0' && strcmp(ja, jb) == 0);
    CHECK_RESULT(epode_conn_attach_shared(b, on_shared_status, &sb, NULL), EPODE_ERR_WRONG_STATE);
    /* b's disconnect ends the session; a hears it on its next turn. */
    CHECK_RESULT(epode_conn_disconnect(b, NULL), EPODE_OK);
    CHECK(sb.disconnected == 2);
    for (int i = 0; i < 50 && sa.disconnected == 0; i++) epode_conn_run_once(a, 100);
    CHECK(sa.disconnected == 1);
    CHECK_RESULT(epode_conn_free(a), EPODE_OK);
    CHECK_RESULT(epode_conn_free(b), EPODE_OK);
    CHECK(frees == 2);
}

/* XEP-0198 from C: the state of a live session, taken over by a second
 * connection, resumes it (the server moves the session over). */
struct sm_status {
    int connected;
    char condition[128];
};

static void on_sm_status(void *ud, epode_conn *c, epode_status status, const char *cond, const epode_stanza *st) {
    struct sm_status *s = (struct sm_status *)ud;
    (void)c;
    (void)st;
    if (status == EPODE_STATUS_CONNECTED) {
        s->connected++;
        snprintf(s->condition, sizeof s->condition, "%s", cond ? cond : "");
    }
}

static epode_conn *sync_conn(void) {
    epode_options *o = NULL;
    epode_conn *c = NULL;
    CHECK_RESULT(epode_options_new(&o), EPODE_OK);
    CHECK_RESULT(epode_options_set(o, "sync", "true"), EPODE_OK);
    CHECK_RESULT(epode_conn_new(ws_url, o, &c), EPODE_OK);
    epode_options_free(o);
    return c;
}

static void test_stream_management(void) {
    if (ws_url[0] == '\0' && !load_server()) {
        CHECK(!"a Prosody test server (EPODE_TEST_PROSODY) is required");
        return;
    }
    char state[8192];
    size_t len = 0;
    bool resumed = true;
    CHECK_RESULT(epode_conn_sm_state(NULL, state, sizeof state, &len), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_set_sm_state(NULL, "x"), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_resumed(NULL, &resumed), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_set_unacked_handler(NULL, ignore_xml, NULL, NULL), EPODE_ERR_NULL_ARG);

    epode_conn *a = sync_conn(), *b = sync_conn();
    struct sm_status sa, sb;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    CHECK_RESULT(epode_conn_resumed(a, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_conn_sm_state(a, state, sizeof state, &len), EPODE_ERR_NOT_FOUND);
    CHECK_RESULT(epode_conn_connect(a, "carol@localhost", "carol-pass", NULL, on_sm_status, &sa, NULL), EPODE_OK);
    CHECK(sa.connected == 1 && sa.condition[0] == '\0');
    /* Resumable once the server's <enabled/> is in. */
    for (int i = 0; i < 50 && epode_conn_sm_state(a, state, sizeof state, &len) != EPODE_OK; i++) {
        epode_conn_run_once(a, 100);
    }
    CHECK_RESULT(epode_conn_sm_state(a, state, sizeof state, &len), EPODE_OK);
    CHECK(len == strlen(state) && strncmp(state, "epode-sm 1\n", 11) == 0);
    char tiny[4] = "abc";
    CHECK_RESULT(epode_conn_sm_state(a, tiny, sizeof tiny, &len), EPODE_ERR_BUFFER_TOO_SMALL);
    CHECK(strcmp(tiny, "abc") == 0);

    frees = 0;
    CHECK_RESULT(epode_conn_set_unacked_handler(b, ignore_xml, NULL, count_free), EPODE_OK);
    CHECK_RESULT(epode_conn_set_sm_state(b, "garbage"), EPODE_ERR_INVALID_ARG);
    CHECK_RESULT(epode_conn_set_sm_state(b, state), EPODE_OK);
    CHECK_RESULT(epode_conn_connect(b, "carol@localhost", "carol-pass", NULL, on_sm_status, &sb, NULL), EPODE_OK);
    CHECK(sb.connected == 1 && strcmp(sb.condition, "resumed") == 0);
    CHECK_RESULT(epode_conn_resumed(b, &resumed), EPODE_OK);
    CHECK(resumed);
    CHECK_RESULT(epode_conn_resumed(a, &resumed), EPODE_OK);
    CHECK(!resumed);
    char ja[256] = "", jb[256] = "";
    CHECK_RESULT(epode_conn_jid(a, ja, sizeof ja, NULL), EPODE_OK);
    CHECK_RESULT(epode_conn_jid(b, jb, sizeof jb, NULL), EPODE_OK);
    CHECK(strcmp(ja, jb) == 0);
    CHECK_RESULT(epode_conn_set_sm_state(b, state), EPODE_ERR_WRONG_STATE);
    /* Cleared (in sync mode at the next turn of the engine). */
    CHECK_RESULT(epode_conn_set_unacked_handler(b, NULL, NULL, NULL), EPODE_OK);
    CHECK_RESULT(epode_conn_disconnect(b, NULL), EPODE_OK);
    CHECK(frees == 1);
    CHECK_RESULT(epode_conn_free(a), EPODE_OK);
    CHECK_RESULT(epode_conn_free(b), EPODE_OK);
}

int main(void) {
    test_getters();
    test_logging();
    test_null_arguments();
    test_bad_values_and_wrong_state();
    test_real_session();
    test_disconnect_without_session();
    test_refused_websocket();
    test_wrong_password();
    test_custom_mechanism();
    test_shared_worker();
    test_stream_management();
    return check_summary("conn_test");
}
