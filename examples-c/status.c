/* status — log in to any XMPP service and print every status change.
 *
 *   status SERVICE JID PASSWORD [--stay] [KEY=VALUE ...]
 *
 * SERVICE is a ws://, wss://, http:// or https:// URL (or a path with
 * origin=…), tcp://host:port (STARTTLS), tls://host:port (direct TLS), or
 * '' for the server that DNS SRV names for the JID's domain. "host-meta"
 * (or "host-meta:ORIGIN", e.g. host-meta:https://web.example.com:8443)
 * asks the JID's domain for its URLs (XEP-0156), prints "FOUND url" for
 * each, and logs in over the first WebSocket one, else the first BOSH
 * one. PASSWORD "-" means none (ANONYMOUS). Each KEY=VALUE sets a
 * connection option by its Strophe name: mechanisms=SCRAM-SHA-256,PLAIN,
 * protocol=wss, origin=…, worker=…, sync=true, keepalive=true, ca_file=….
 *
 * Prints "STATUSNAME condition" per status. Once CONNECTED it sends a
 * presence, pings the server with an IQ and prints "IQ result" or
 * "IQ error", then disconnects. Exits 0 only if it reached CONNECTED (or
 * ATTACHED) and ended DISCONNECTED.
 *
 * --stay keeps the session after the ping, printing "MESSAGE body" for each
 * message, until stdin ends (then it disconnects) or the session ends.
 * With worker=NAME or worker=/path two terminals share one login: the
 * first prints CONNECTED, the second (same JID) ATTACHED; a disconnect in
 * either ends the session for both. */
#include "epode.h"

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct session {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    bool reached; /* CONNECTED or ATTACHED seen */
    bool done;    /* DISCONNECTED seen */
    bool stay;    /* --stay: keep the session until stdin ends */
    char domain[256];
};

static bool is_done(struct session *s) {
    pthread_mutex_lock(&s->lock);
    bool done = s->done;
    pthread_mutex_unlock(&s->lock);
    return done;
}

static int on_message(void *userdata, epode_conn *conn, const epode_stanza *stanza) {
    (void)userdata;
    (void)conn;
    char body[1024] = "";
    const epode_stanza *child = NULL;
    if (epode_stanza_find_child(stanza, "body", NULL, &child) == EPODE_OK) {
        epode_stanza_text(child, body, sizeof body, NULL);
    }
    printf("MESSAGE %s\n", body);
    fflush(stdout);
    return EPODE_HANDLER_KEEP;
}

static void finish(struct session *s) {
    pthread_mutex_lock(&s->lock);
    s->done = true;
    pthread_cond_signal(&s->done_cond);
    pthread_mutex_unlock(&s->lock);
}

static void on_iq(void *userdata, epode_conn *conn, const epode_stanza *stanza) {
    const struct session *s = (const struct session *)userdata;
    char type[32] = "";
    if (stanza == NULL) {
        printf("IQ timeout\n");
    } else {
        epode_stanza_attr(stanza, "type", type, sizeof type, NULL);
        printf("IQ %s\n", type);
    }
    fflush(stdout);
    if (!s->stay) epode_conn_disconnect(conn, "status example done");
}

static void ping_server(epode_conn *conn, struct session *s) {
    const char *domain = s->domain;
    const char *attrs[] = {"type", "get", "to", domain, NULL};
    const char *ping[] = {"xmlns", "urn:xmpp:ping", NULL};
    epode_builder *b = NULL;
    epode_stanza *iq = NULL;
    if (epode_builder_iq(attrs, &b) != EPODE_OK) return;
    epode_builder_c(b, "ping", ping, NULL);
    if (epode_builder_finish(b, &iq) != EPODE_OK) return;
    if (epode_conn_send_iq(conn, iq, on_iq, on_iq, s, NULL, 10000, NULL, 0) != EPODE_OK) {
        char err[256];
        epode_conn_last_error(conn, err, sizeof err);
        fprintf(stderr, "sendIQ failed: %s\n", err);
        epode_conn_disconnect(conn, NULL);
    }
    epode_stanza_free(iq);
}

static void on_status(void *userdata, epode_conn *conn, epode_status status, const char *condition,
                      const epode_stanza *stanza) {
    struct session *s = (struct session *)userdata;
    (void)stanza;
    printf("%s%s%s\n", epode_status_name((int)status), condition ? " " : "", condition ? condition : "");
    fflush(stdout);
    if (status == EPODE_STATUS_CONNECTED || status == EPODE_STATUS_ATTACHED) {
        s->reached = true;
        epode_stanza *presence = NULL;
        if (epode_stanza_parse("<presence xmlns='jabber:client'/>", &presence) == EPODE_OK) {
            epode_conn_send(conn, presence);
            epode_stanza_free(presence);
        }
        epode_conn_domain(conn, s->domain, sizeof s->domain, NULL);
        ping_server(conn, s);
    } else if (status == EPODE_STATUS_BINDREQUIRED) {
        epode_conn_bind(conn);
    } else if (status == EPODE_STATUS_DISCONNECTED) {
        finish(s);
    }
}

/* XEP-0156: the first WebSocket URL the JID's domain lists, else the
 * first BOSH one, into `url`. */
static bool discover(const char *jid, const char *origin, const epode_options *opts, char *url, size_t cap) {
    char domain[256], err[256];
    epode_connection_methods *found = NULL;
    if (epode_jid_domain(jid, domain, sizeof domain, NULL) != EPODE_OK ||
        epode_host_meta_lookup(domain, origin, opts, &found) != EPODE_OK) {
        epode_last_error(err, sizeof err);
        fprintf(stderr, "host-meta: %s\n", err);
        return false;
    }
    bool chosen = false;
    int kinds[] = {EPODE_ENDPOINT_WEBSOCKET, EPODE_ENDPOINT_BOSH};
    for (size_t k = 0; k < 2; k++) {
        size_t n = epode_connection_methods_count(found, kinds[k]);
        for (size_t i = 0; i < n; i++) {
            char one[1024];
            if (epode_connection_methods_url(found, kinds[k], i, one, sizeof one, NULL) != EPODE_OK) continue;
            printf("FOUND %s\n", one);
            if (!chosen && strlen(one) < cap) {
                memcpy(url, one, strlen(one) + 1);
                chosen = true;
            }
        }
    }
    epode_connection_methods_free(found);
    return chosen;
}

static int usage(void) {
    fprintf(stderr, "usage: status SERVICE JID PASSWORD [--stay] [KEY=VALUE ...]\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 4) return usage();
    const char *service = argv[1], *jid = argv[2];
    const char *password = strcmp(argv[3], "-") == 0 ? NULL : argv[3];

    epode_options *opts = NULL;
    if (epode_options_new(&opts) != EPODE_OK) return 1;
    bool sync = false, stay = false;
    for (int i = 4; i < argc; i++) {
        char key[128];
        if (strcmp(argv[i], "--stay") == 0) {
            stay = true;
            continue;
        }
        const char *eq = strchr(argv[i], '=');
        if (eq == NULL || (size_t)(eq - argv[i]) >= sizeof key) {
            epode_options_free(opts);
            return usage();
        }
        memcpy(key, argv[i], (size_t)(eq - argv[i]));
        key[eq - argv[i]] = '\0';
        epode_result r = epode_options_set(opts, key, eq + 1);
        if (r != EPODE_OK) {
            char err[256];
            epode_last_error(err, sizeof err);
            fprintf(stderr, "option %s: %s (%s)\n", key, err, epode_result_str((int)r));
            epode_options_free(opts);
            return 2;
        }
        if (strcmp(key, "sync") == 0) sync = strcmp(eq + 1, "true") == 0 || strcmp(eq + 1, "1") == 0;
    }

    char found[1024];
    if (strncmp(service, "host-meta", 9) == 0 && (service[9] == '\0' || service[9] == ':')) {
        const char *origin = service[9] == ':' ? service + 10 : NULL;
        if (!discover(jid, origin, opts, found, sizeof found)) {
            epode_options_free(opts);
            return 1;
        }
        service = found;
    }

    epode_conn *conn = NULL;
    epode_result r = epode_conn_new(service, opts, &conn);
    epode_options_free(opts);
    if (r != EPODE_OK) {
        char err[256];
        epode_last_error(err, sizeof err);
        fprintf(stderr, "cannot create the connection: %s\n", err);
        return 1;
    }

    struct session s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.done_cond, NULL);
    s.stay = stay;
    if (stay) epode_conn_add_handler(conn, NULL, "message", NULL, NULL, NULL, 0, on_message, NULL, NULL, NULL);

    r = epode_conn_connect(conn, jid, password, NULL, on_status, &s, NULL);
    if (r != EPODE_OK) {
        char err[256];
        epode_conn_last_error(conn, err, sizeof err);
        fprintf(stderr, "connect: %s\n", err);
        epode_conn_free(conn);
        return 1;
    }
    if (sync || stay) {
        /* Sync: the engine runs here. --stay: watch stdin meanwhile. */
        bool asked = false;
        while (!is_done(&s)) {
            if (sync && epode_conn_run_once(conn, 200) != EPODE_OK) break;
            struct pollfd in = {0, POLLIN, 0};
            if (stay && !asked && poll(&in, 1, sync ? 0 : 200) > 0) {
                char line[256];
                if (fgets(line, sizeof line, stdin) == NULL) {
                    asked = true;
                    epode_conn_disconnect(conn, "stdin ended");
                }
            }
        }
    }
    if (!sync) {
        pthread_mutex_lock(&s.lock);
        while (!s.done) pthread_cond_wait(&s.done_cond, &s.lock);
        pthread_mutex_unlock(&s.lock);
    }
    epode_conn_free(conn);
    pthread_cond_destroy(&s.done_cond);
    pthread_mutex_destroy(&s.lock);
    return s.reached && s.done ? 0 : 1;
}
