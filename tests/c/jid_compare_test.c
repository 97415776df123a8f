/* RFC 7622 normalisation and comparison of JIDs from C (issue 20):
 * epode_jid_normalize, epode_jid_equal, epode_jid_bare_equal, and a
 * handler whose `from` is no valid JID refused when it is added. */
#include "epode.h"
#include "check.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void check_normalized(const char *jid, const char *want) {
    char buf[256];
    size_t len = 0;
    CHECK_RESULT(epode_jid_normalize(jid, buf, sizeof buf, &len), EPODE_OK);
    CHECK(strcmp(buf, want) == 0);
    CHECK(len == strlen(want));
}

static void test_normalize(void) {
    check_normalized("Alice@LocalHost", "alice@localhost");
    /* The resource keeps its case (OpaqueString). */
    check_normalized("Alice@LocalHost/Phone", "alice@localhost/Phone");
    /* Fullwidth letters (UTF-8 EF BC A1 = U+FF21 'Ａ'). */
    check_normalized("\xef\xbc\xa1lice@localhost", "alice@localhost");
    /* An IDN: the A-label becomes the U-label "bücher". */
    check_normalized("juliet@XN--BCHER-KVA.example", "juliet@b\xc3\xbc"
                                                     "cher.example");
    check_normalized("example.com.", "example.com");

    /* Invalid: the reason is the last error. */
    char buf[256];
    CHECK_RESULT(epode_jid_normalize("foo bar@example.com", buf, sizeof buf, NULL), EPODE_ERR_INVALID_JID);
    char msg[256];
    epode_last_error(msg, sizeof msg);
    CHECK(strstr(msg, "U+0020") != NULL);
    CHECK_RESULT(epode_jid_normalize("juliet@", buf, sizeof buf, NULL), EPODE_ERR_INVALID_JID);
    CHECK_RESULT(epode_jid_normalize("a@b_c", buf, sizeof buf, NULL), EPODE_ERR_INVALID_JID);
    /* U+265A BLACK CHESS KING: a symbol, not in a node. */
    CHECK_RESULT(epode_jid_normalize("\xe2\x99\x9a@example.com", buf, sizeof buf, NULL), EPODE_ERR_INVALID_JID);

    /* Buffer rules: too small says how long, and leaves the buffer alone. */
    char small[8] = "unset";
    size_t len = 0;
    CHECK_RESULT(epode_jid_normalize("Alice@LocalHost", small, sizeof small, &len), EPODE_ERR_BUFFER_TOO_SMALL);
    CHECK(len == strlen("alice@localhost"));
    CHECK(strcmp(small, "unset") == 0);
    CHECK_RESULT(epode_jid_normalize("Alice@LocalHost", NULL, 0, &len), EPODE_ERR_BUFFER_TOO_SMALL);

    /* An over-long part (1024 bytes) is an error, not a crash. */
    char *huge = (char *)malloc(1024 + 3);
    memset(huge, 'a', 1024);
    memcpy(huge + 1024, "@x", 3);
    CHECK_RESULT(epode_jid_normalize(huge, buf, sizeof buf, NULL), EPODE_ERR_INVALID_JID);
    huge[1023] = '@'; /* 1023 bytes of node, domain "ax" */
    huge[1024] = 'a';
    CHECK_RESULT(epode_jid_validate(huge), EPODE_OK);
    free(huge);
}

static void test_equal(void) {
    bool same = false;
    CHECK_RESULT(epode_jid_equal("Alice@LocalHost", "alice@localhost", &same), EPODE_OK);
    CHECK(same);
    CHECK_RESULT(epode_jid_equal("alice@localhost/Phone", "alice@localhost/phone", &same), EPODE_OK);
    CHECK(!same);
    CHECK_RESULT(epode_jid_equal("alice@localhost", "alice@localhost/phone", &same), EPODE_OK);
    CHECK(!same);
    CHECK_RESULT(epode_jid_equal("alice@localhost", "bob@localhost", &same), EPODE_OK);
    CHECK(!same);

    CHECK_RESULT(epode_jid_bare_equal("Alice@LocalHost/Phone", "alice@localhost/laptop", &same), EPODE_OK);
    CHECK(same);
    CHECK_RESULT(epode_jid_bare_equal("alice@localhost", "bob@localhost", &same), EPODE_OK);
    CHECK(!same);

    /* Invalid input on either side is an error; *out_equal is left alone. */
    same = true;
    CHECK_RESULT(epode_jid_equal("a b@x", "a b@x", &same), EPODE_ERR_INVALID_JID);
    CHECK(same);
    CHECK_RESULT(epode_jid_bare_equal("a@x", "@x", &same), EPODE_ERR_INVALID_JID);
    CHECK_RESULT(epode_jid_equal("a@x", "\xe2\x82", &same), EPODE_ERR_INVALID_UTF8);
    CHECK_RESULT(epode_jid_equal(NULL, "a@x", &same), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_jid_equal("a@x", NULL, &same), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_jid_equal("a@x", "a@x", NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_jid_bare_equal(NULL, NULL, NULL), EPODE_ERR_NULL_ARG);
    char buf[16];
    CHECK_RESULT(epode_jid_normalize(NULL, buf, sizeof buf, NULL), EPODE_ERR_NULL_ARG);
}

static int frees = 0;
static void count_free(void *ud) {
    (void)ud;
    frees++;
}
static int keep(void *ud, epode_conn *c, const epode_stanza *s) {
    (void)ud;
    (void)c;
    (void)s;
    return EPODE_HANDLER_KEEP;
}

static void test_handler_from(void) {
    epode_conn *c = NULL;
    CHECK_RESULT(epode_conn_new("ws://127.0.0.1:1/ws", NULL, &c), EPODE_OK);
    uint64_t id = 0;
    /* Written in another case: valid, accepted. */
    CHECK_RESULT(epode_conn_add_handler(c, NULL, "message", NULL, NULL, "Alice@LocalHost", EPODE_MATCH_BARE_FROM, keep,
                                        NULL, NULL, &id),
                 EPODE_OK);
    CHECK(id != 0);
    /* No valid JID: refused, and its userdata freed at once. */
    id = 0;
    CHECK_RESULT(epode_conn_add_handler(c, NULL, "message", NULL, NULL, "alice smith@localhost", 0, keep, &frees,
                                        count_free, &id),
                 EPODE_ERR_INVALID_JID);
    CHECK(frees == 1);
    CHECK(id == 0);
    char msg[256];
    CHECK(epode_conn_last_error(c, msg, sizeof msg) > 0);
    CHECK(strstr(msg, "alice smith@localhost") != NULL);
    CHECK_RESULT(
        epode_conn_add_handler(c, NULL, NULL, NULL, NULL, "@localhost", EPODE_MATCH_BARE_FROM, keep, NULL, NULL, &id),
        EPODE_ERR_INVALID_JID);
    /* An empty from is a wildcard, as in Strophe. */
    CHECK_RESULT(epode_conn_add_handler(c, NULL, NULL, NULL, NULL, "", 0, keep, NULL, NULL, &id), EPODE_OK);
    CHECK_RESULT(epode_conn_free(c), EPODE_OK);
}

int main(void) {
    test_normalize();
    test_equal();
    test_handler_from();
    return check_summary("jid_compare_test");
}
