/* shared — two handles, one socket: the shared connection (seed 000's
 * SharedWorker) from C.
 *
 *   shared SERVICE JID PASSWORD [WORKER]
 *
 * WORKER is a name (shared inside this process; the default "demo") or a
 * Unix socket path (shared with other processes of this user). Handle A
 * logs in; handle B connects through the same worker and is ATTACHED to
 * A's session instead of logging in again. B sends a message to the
 * session's own JID and both handles receive it. Then A disconnects,
 * which ends the session for B too. Exits 0 only if all of that happened. */
#include "epode.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct handle {
    const char *name;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool up, down;
    int messages;
};

static void on_status(void *userdata, epode_conn *conn, epode_status status, const char *condition,
                      const epode_stanza *stanza) {
    struct handle *h = (struct handle *)userdata;
    (void)conn;
    (void)stanza;
    printf("  %s: %s%s%s\n", h->name, epode_status_name((int)status), condition ? " " : "", condition ? condition : "");
    fflush(stdout);
    pthread_mutex_lock(&h->lock);
    if (status == EPODE_STATUS_CONNECTED || status == EPODE_STATUS_ATTACHED) h->up = true;
    if (status == EPODE_STATUS_DISCONNECTED) h->down = true;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
}

static int on_message(void *userdata, epode_conn *conn, const epode_stanza *stanza) {
    struct handle *h = (struct handle *)userdata;
    (void)conn;
    char body[256] = "";
    const epode_stanza *child = NULL;
    if (epode_stanza_find_child(stanza, "body", NULL, &child) == EPODE_OK) {
        epode_stanza_text(child, body, sizeof body, NULL);
    }
    printf("  %s: message \"%s\"\n", h->name, body);
    fflush(stdout);
    pthread_mutex_lock(&h->lock);
    h->messages++;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
    return EPODE_HANDLER_KEEP;
}

/* Waits up to 10 s for *flag (or for *count to reach 1). */
static bool wait_for(struct handle *h, const bool *flag, const int *count) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&h->lock);
    while (!(flag ? *flag : *count > 0)) {
        if (pthread_cond_timedwait(&h->changed, &h->lock, &until) != 0) break;
    }
    bool ok = flag ? *flag : *count > 0;
    pthread_mutex_unlock(&h->lock);
    return ok;
}

static epode_conn *new_handle(const char *service, const char *worker, struct handle *h, const char *name) {
    memset(h, 0, sizeof *h);
    h->name = name;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->changed, NULL);
    epode_options *opts = NULL;
    epode_conn *conn = NULL;
    if (epode_options_new(&opts) != EPODE_OK) return NULL;
    if (epode_options_set(opts, "worker", worker) == EPODE_OK) epode_conn_new(service, opts, &conn);
    epode_options_free(opts);
    if (conn == NULL) {
        char err[256];
        epode_last_error(err, sizeof err);
        fprintf(stderr, "cannot create handle %s: %s\n", name, err);
        return NULL;
    }
    epode_conn_add_handler(conn, NULL, "message", NULL, NULL, NULL, 0, on_message, h, NULL, NULL);
    return conn;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: shared SERVICE JID PASSWORD [WORKER]\n");
        return 2;
    }
    const char *service = argv[1], *jid = argv[2], *password = argv[3];
    const char *worker = argc == 5 ? argv[4] : "demo";
    struct handle a, b;
    epode_conn *ca = new_handle(service, worker, &a, "A");
    epode_conn *cb = new_handle(service, worker, &b, "B");
    bool ok = ca != NULL && cb != NULL;

    if (ok) {
        printf("handle A logs in through worker %s\n", worker);
        ok = epode_conn_connect(ca, jid, password, NULL, on_status, &a, NULL) == EPODE_OK && wait_for(&a, &a.up, NULL);
    }
    if (ok) {
        printf("handle B connects through the same worker: no second login\n");
        ok = epode_conn_connect(cb, jid, password, NULL, on_status, &b, NULL) == EPODE_OK && wait_for(&b, &b.up, NULL);
    }
    char ja[256] = "", jb[256] = "";
    if (ok) {
        epode_conn_jid(ca, ja, sizeof ja, NULL);
        epode_conn_jid(cb, jb, sizeof jb, NULL);
        printf("both are %s%s\n", ja, strcmp(ja, jb) == 0 ? "" : " (MISMATCH)");
        ok = strcmp(ja, jb) == 0;
    }
    if (ok) {
        printf("handle B sends a message to the session's own JID; both handles hear it\n");
        char xml[512];
        snprintf(xml, sizeof xml,
                 "<message xmlns='jabber:client' to='%s' type='chat'><body>one socket</body></message>", jb);
        ok = epode_conn_send_raw(cb, xml) == EPODE_OK && wait_for(&a, NULL, &a.messages) &&
             wait_for(&b, NULL, &b.messages);
    }
    if (ok) {
        printf("handle A disconnects: the session ends for B as well\n");
        ok = epode_conn_disconnect(ca, NULL) == EPODE_OK && wait_for(&a, &a.down, NULL) && wait_for(&b, &b.down, NULL);
    }
    if (ca) epode_conn_free(ca);
    if (cb) epode_conn_free(cb);
    pthread_cond_destroy(&a.changed);
    pthread_mutex_destroy(&a.lock);
    pthread_cond_destroy(&b.changed);
    pthread_mutex_destroy(&b.lock);
    printf("%s\n", ok ? "shared connection: ok" : "shared connection: FAILED");
    return ok ? 0 : 1;
}
