/* many — COUNT sessions of one account driven by one thread from one
 * poll() loop (pollable mode): each logs in, sends itself a message, gets
 * it back from the server and logs out. The loop is what a program with its
 * own event loop (epoll, GLib, libuv …) does with epode's descriptors.
 *
 *   many SERVICE JID PASSWORD COUNT [--option KEY=VALUE]...
 *
 * SERVICE is any service epode takes (ws://, wss://, http(s):// for BOSH,
 * tcp://, tls://, a bare domain). Prints what it did and exits:
 *   0  every session logged in, echoed its message and ended cleanly
 *   2  usage: bad arguments or options
 *   3  a login failed
 *   4  not everything was done within 60 s */
#include "epode.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EXIT_DONE = 0, EXIT_USAGE = 2, EXIT_LOGIN = 3, EXIT_LATE = 4 };
enum { MAX_COUNT = 10000, DEADLINE_MS = 60000 };

struct session {
    epode_conn *conn;
    int fd;
    bool online, echoed, sent, done, failed;
    int64_t due_ms; /* when a timer wants a step; -1: none */
    char body[32];
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_status(void *ud, epode_conn *conn, epode_status status, const char *condition,
                      const epode_stanza *stanza) {
    struct session *s = (struct session *)ud;
    (void)conn;
    (void)stanza;
    if (status == EPODE_STATUS_CONNECTED) s->online = true;
    if (status == EPODE_STATUS_DISCONNECTED) s->done = true;
    if (status == EPODE_STATUS_CONNFAIL || status == EPODE_STATUS_AUTHFAIL || status == EPODE_STATUS_ERROR ||
        status == EPODE_STATUS_CONNTIMEOUT) {
        s->failed = true;
        fprintf(stderr, "many: %s %s\n", epode_status_name((int)status), condition ? condition : "");
    }
}

/* Our own message back: the body we sent. */
static int on_message(void *ud, epode_conn *conn, const epode_stanza *msg) {
    struct session *s = (struct session *)ud;
    const epode_stanza *body = NULL;
    char text[64];
    (void)conn;
    if (epode_stanza_find_child(msg, "body", NULL, &body) == EPODE_OK &&
        epode_stanza_text(body, text, sizeof text, NULL) == EPODE_OK && strcmp(text, s->body) == 0)
        s->echoed = true;
    return EPODE_HANDLER_KEEP;
}

static int usage(const char *why) {
    if (why) fprintf(stderr, "many: %s\n", why);
    fprintf(stderr, "usage: many SERVICE JID PASSWORD COUNT [--option KEY=VALUE]...\n");
    return EXIT_USAGE;
}

/* Sets every --option and pollable=true; 0 or an exit code. */
static int set_options(int argc, char **argv, epode_options *opts) {
    for (int i = 5; i < argc; i += 2) {
        char key[128];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL, *eq = value ? strchr(value, '=') : NULL;
        if (strcmp(argv[i], "--option") != 0 || eq == NULL || (size_t)(eq - value) >= sizeof key)
            return usage("--option wants KEY=VALUE");
        memcpy(key, value, (size_t)(eq - value));
        key[eq - value] = '\0';
        if (epode_options_set(opts, key, eq + 1) != EPODE_OK) {
            char err[256];
            epode_last_error(err, sizeof err);
            fprintf(stderr, "many: option %s: %s\n", key, err);
            return EXIT_USAGE;
        }
    }
    /* No call waits for the engine: the loop below drives every session. */
    epode_options_set(opts, "pollable", "true");
    return 0;
}

/* Starts session `i`: its connection, handler, descriptor and login. */
static bool start(struct session *s, int i, const char *service, epode_options *opts, const char *jid,
                  const char *password) {
    snprintf(s->body, sizeof s->body, "to myself %d", i);
    s->due_ms = -1;
    if (epode_conn_new(service, opts, &s->conn) != EPODE_OK ||
        epode_conn_add_handler(s->conn, NULL, "message", NULL, NULL, NULL, 0, on_message, s, NULL, NULL) != EPODE_OK ||
        epode_conn_poll_fd(s->conn, &s->fd) != EPODE_OK ||
        epode_conn_connect(s->conn, jid, password, NULL, on_status, s, NULL) != EPODE_OK) {
        char err[256];
        epode_last_error(err, sizeof err);
        fprintf(stderr, "many: session %d: %s\n", i, err);
        return false;
    }
    return true;
}

/* What to do next for a session once a step ran: send, or log out. */
static void advance(struct session *s) {
    if (s->online && !s->sent) {
        char jid[3072];
        epode_builder *b = NULL;
        epode_stanza *msg = NULL;
        s->sent = true;
        if (epode_conn_jid(s->conn, jid, sizeof jid, NULL) != EPODE_OK) return;
        const char *attrs[] = {"to", jid, "type", "chat", NULL};
        if (epode_builder_msg(attrs, &b) != EPODE_OK) return;
        if (epode_builder_c(b, "body", NULL, s->body) != EPODE_OK) {
            epode_builder_free(b);
            return;
        }
        if (epode_builder_finish(b, &msg) == EPODE_OK) {
            epode_conn_send(s->conn, msg);
            epode_stanza_free(msg);
        }
    }
    if (s->echoed && s->online) {
        s->online = false;
        epode_conn_disconnect(s->conn, NULL);
    }
}

/* One turn of the loop: poll every descriptor, at most until the nearest
 * timer, then step each session that is ready or due. */
static void turn(struct session *all, struct pollfd *fds, int count) {
    int64_t now = now_ms(), wait = 1000;
    for (int i = 0; i < count; i++) {
        fds[i].fd = all[i].done ? -1 : all[i].fd; /* a negative fd is skipped */
        fds[i].events = POLLIN;
        fds[i].revents = 0;
        if (all[i].due_ms >= 0 && all[i].due_ms - now < wait) wait = all[i].due_ms - now;
    }
    if (poll(fds, (nfds_t)count, (int)(wait < 0 ? 0 : wait)) < 0) return;
    now = now_ms();
    for (int i = 0; i < count; i++) {
        struct session *s = &all[i];
        int64_t timeout = -1;
        if (s->done || (fds[i].revents == 0 && (s->due_ms < 0 || s->due_ms > now))) continue;
        epode_conn_run_once(s->conn, 0);
        advance(s);
        epode_conn_next_timeout(s->conn, &timeout);
        s->due_ms = timeout < 0 ? -1 : now_ms() + timeout;
    }
}

int main(int argc, char **argv) {
    if (argc < 5 || (argc - 5) % 2 != 0) return usage(NULL);
    char *end = NULL;
    long count = strtol(argv[4], &end, 10);
    if (*argv[4] == '\0' || *end != '\0' || count < 1 || count > MAX_COUNT) return usage("COUNT wants 1..10000");
    epode_options *opts = NULL;
    if (epode_options_new(&opts) != EPODE_OK) return EXIT_USAGE;
    int rc = set_options(argc, argv, opts);
    struct session *all = (struct session *)calloc((size_t)count, sizeof *all);
    struct pollfd *fds = (struct pollfd *)calloc((size_t)count, sizeof *fds);
    int started = 0;
    if (rc == 0 && (all == NULL || fds == NULL)) rc = EXIT_USAGE;
    for (; rc == 0 && started < count; started++)
        if (!start(&all[started], started, argv[1], opts, argv[2], argv[3])) rc = EXIT_LOGIN;
    int64_t deadline = now_ms() + DEADLINE_MS;
    int online = 0, echoed = 0, done = 0, failed = 0;
    while (rc == 0) {
        turn(all, fds, (int)count);
        online = echoed = done = failed = 0;
        for (int i = 0; i < count; i++) {
            online += all[i].sent, echoed += all[i].echoed, done += all[i].done, failed += all[i].failed;
        }
        if (done == count) break;
        if (now_ms() > deadline) rc = EXIT_LATE;
    }
    if (started > 0) printf("%d logged in, %d echoed, %d ended\n", online, echoed, done);
    if (rc == 0 && (failed > 0 || echoed < count)) rc = EXIT_LOGIN;
    for (int i = 0; i < started; i++) epode_conn_free(all[i].conn);
    free(all);
    free(fds);
    epode_options_free(opts);
    return rc;
}
