/* XEP-0156 from C: epode_host_meta_lookup against ejabberd's
 * mod_host_meta, and the handle's accessors with bad arguments (NULL, an
 * unknown kind, an index past the end, a small buffer). */
#include "epode.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

/* One variable of the ejabberd test server's env file. */
static int env_var(const char *name, char *out, size_t cap) {
    return server_env("EPODE_TEST_EJABBERD", name, out, cap);
}

int main(void) {
    char origin[256], ca[1024], domain[256], wss[300];
    if (!env_var("XMPP_HOST_META_ORIGIN", origin, sizeof origin) || !env_var("XMPP_CA_FILE", ca, sizeof ca) ||
        !env_var("XMPP_DOMAIN", domain, sizeof domain)) {
        fprintf(stderr, "the ejabberd test server's env is missing\n");
        return 1;
    }
    snprintf(wss, sizeof wss, "wss://%s/ws", origin + strlen("https://"));

    epode_options *opts = NULL;
    CHECK_RESULT(epode_options_new(&opts), EPODE_OK);
    CHECK_RESULT(epode_options_set(opts, "ca_file", ca), EPODE_OK);

    epode_connection_methods *found = NULL;
    CHECK_RESULT(epode_host_meta_lookup(domain, origin, opts, &found), EPODE_OK);
    CHECK(found != NULL);
    CHECK(epode_connection_methods_count(found, EPODE_ENDPOINT_WEBSOCKET) == 1);
    CHECK(epode_connection_methods_count(found, EPODE_ENDPOINT_BOSH) == 1);
    CHECK(epode_connection_methods_count(found, 7) == 0);
    CHECK(epode_connection_methods_count(NULL, EPODE_ENDPOINT_BOSH) == 0);

    char url[256];
    size_t len = 0;
    CHECK_RESULT(epode_connection_methods_url(found, EPODE_ENDPOINT_WEBSOCKET, 0, url, sizeof url, &len), EPODE_OK);
    CHECK(strcmp(url, wss) == 0);
    CHECK(len == strlen(wss));
    char tiny[4];
    CHECK_RESULT(epode_connection_methods_url(found, EPODE_ENDPOINT_WEBSOCKET, 0, tiny, sizeof tiny, &len),
                 EPODE_ERR_BUFFER_TOO_SMALL);
    CHECK(len == strlen(wss));
    CHECK_RESULT(epode_connection_methods_url(found, EPODE_ENDPOINT_BOSH, 1, url, sizeof url, NULL),
                 EPODE_ERR_NOT_FOUND);
    CHECK_RESULT(epode_connection_methods_url(found, -1, 0, url, sizeof url, NULL), EPODE_ERR_INVALID_ARG);
    CHECK_RESULT(epode_connection_methods_url(NULL, EPODE_ENDPOINT_BOSH, 0, url, sizeof url, NULL), EPODE_ERR_NULL_ARG);
    epode_connection_methods_free(found);
    epode_connection_methods_free(NULL);

    /* Without the CA the certificate is not trusted; nothing is written. */
    found = NULL;
    CHECK_RESULT(epode_host_meta_lookup(domain, origin, NULL, &found), EPODE_ERR_TLS);
    CHECK(found == NULL);
    /* Plaintext is refused unless allowed; bad arguments are errors. */
    CHECK_RESULT(epode_host_meta_lookup(domain, "http://127.0.0.1:1", opts, &found), EPODE_ERR_INVALID_ARG);
    CHECK_RESULT(epode_host_meta_lookup(NULL, origin, opts, &found), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_host_meta_lookup(domain, origin, opts, NULL), EPODE_ERR_NULL_ARG);
    CHECK_RESULT(epode_host_meta_lookup("bad\xff", NULL, opts, &found), EPODE_ERR_INVALID_UTF8);
    CHECK_RESULT(epode_host_meta_lookup("not a domain", NULL, opts, &found), EPODE_ERR_INVALID_ARG);
    CHECK(found == NULL);

    epode_options_free(opts);
    return check_summary("host_meta_test");
}
