/* send_once — log in, send one chat message, disconnect cleanly: for shell
 * scripts (alerts, cron jobs, CI notifications).
 *
 *   send_once SERVICE JID PASSWORD TO BODY [--option KEY=VALUE]...
 *             [--expect-reply SECONDS] [--log LEVEL]
 *
 * SERVICE is a ws://, wss://, http:// or https:// URL. Each --option sets a
 * connection option by its Strophe name (ca_file=..., mechanisms=PLAIN,
 * wait=30 ...). With --expect-reply it also waits up to SECONDS for a
 * message with a body from TO (any resource) and prints "REPLY body".
 * --log debug|info|warn|error sends the library's log to stderr (it never
 * contains the password). Nothing is printed on success otherwise.
 *
 * Exit codes, for scripts:
 *   0  sent (and, with --expect-reply, a reply came), session ended cleanly
 *   2  usage: bad arguments or options
 *   3  login failed (wrong password, server unreachable, timeout ...)
 *   4  sending failed, or the session broke before a clean disconnect
 *   5  no reply within the time (--expect-reply only) */
#include "epode.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EXIT_SENT = 0, EXIT_USAGE = 2, EXIT_LOGIN = 3, EXIT_SEND = 4, EXIT_NO_REPLY = 5 };

struct args {
    const char *service, *jid, *password, *to, *body;
    int reply_seconds; /* -1: do not wait for a reply */
    int log_level;     /* -1: no log */
};

struct session {
    bool online, broken, done, replied;
    char failure[256]; /* the status and condition that ended the login */
};

static void on_status(void *ud, epode_conn *conn, epode_status status, const char *condition,
                      const epode_stanza *stanza) {
    struct session *s = (struct session *)ud;
    (void)conn;
    (void)stanza;
    if (status == EPODE_STATUS_CONNECTED) s->online = true;
    if (status == EPODE_STATUS_DISCONNECTED) s->done = true;
    if (status == EPODE_STATUS_ERROR || status == EPODE_STATUS_CONNFAIL || status == EPODE_STATUS_AUTHFAIL ||
        status == EPODE_STATUS_CONNTIMEOUT) {
        s->broken = true;
        snprintf(s->failure, sizeof s->failure, "%s %s", epode_status_name((int)status), condition ? condition : "");
    }
}

static int on_reply(void *ud, epode_conn *conn, const epode_stanza *msg) {
    struct session *s = (struct session *)ud;
    const epode_stanza *body = NULL;
    char text[4096], type[16] = "";
    (void)conn;
    /* A bounce (type error) carries our own body back: not a reply. */
    epode_stanza_attr(msg, "type", type, sizeof type, NULL);
    if (strcmp(type, "error") == 0) return EPODE_HANDLER_KEEP;
    if (epode_stanza_find_child(msg, "body", NULL, &body) != EPODE_OK) return EPODE_HANDLER_KEEP;
    if (epode_stanza_text(body, text, sizeof text, NULL) != EPODE_OK) return EPODE_HANDLER_KEEP;
    printf("REPLY %s\n", text);
    fflush(stdout);
    s->replied = true;
    return EPODE_HANDLER_REMOVE;
}

static int usage(const char *why) {
    if (why) fprintf(stderr, "send_once: %s\n", why);
    fprintf(stderr, "usage: send_once SERVICE JID PASSWORD TO BODY [--option KEY=VALUE]... "
                    "[--expect-reply SECONDS] [--log debug|info|warn|error]\n");
    return EXIT_USAGE;
}

static int log_level(const char *name) {
    const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

/* Reads the flags into `a` and the options into `opts`; 0 or an exit code. */
static int parse(int argc, char **argv, struct args *a, epode_options *opts) {
    if (argc < 6) return usage(NULL);
    a->service = argv[1], a->jid = argv[2], a->password = argv[3], a->to = argv[4], a->body = argv[5];
    a->reply_seconds = -1, a->log_level = -1;
    for (int i = 6; i < argc; i++) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL) return usage("a flag without its value");
        i++;
        if (strcmp(flag, "--expect-reply") == 0) {
            char *end = NULL;
            long n = strtol(value, &end, 10);
            if (*value == '\0' || *end != '\0' || n < 1 || n > 3600)
                return usage("--expect-reply wants 1..3600 seconds");
            a->reply_seconds = (int)n;
        } else if (strcmp(flag, "--log") == 0) {
            if ((a->log_level = log_level(value)) < 0) return usage("--log wants debug, info, warn or error");
        } else if (strcmp(flag, "--option") == 0) {
            char key[128];
            const char *eq = strchr(value, '=');
            if (eq == NULL || (size_t)(eq - value) >= sizeof key) return usage("--option wants KEY=VALUE");
            memcpy(key, value, (size_t)(eq - value));
            key[eq - value] = '\0';
            if (epode_options_set(opts, key, eq + 1) != EPODE_OK) {
                char err[256];
                epode_last_error(err, sizeof err);
                fprintf(stderr, "send_once: option %s: %s\n", key, err);
                return EXIT_USAGE;
            }
        } else {
            return usage("unknown flag");
        }
    }
    /* The engine runs on this thread: every call below returns when done. */
    epode_options_set(opts, "sync", "true");
    return 0;
}

static epode_result send_message(epode_conn *conn, const char *to, const char *body) {
    const char *attrs[] = {"to", to, "type", "chat", NULL};
    epode_builder *b = NULL;
    epode_stanza *msg = NULL;
    epode_result r = epode_builder_msg(attrs, &b);
    if (r != EPODE_OK) return r;
    if ((r = epode_builder_c(b, "body", NULL, body)) != EPODE_OK) {
        epode_builder_free(b);
        return r;
    }
    if ((r = epode_builder_finish(b, &msg)) != EPODE_OK) return r;
    r = epode_conn_send(conn, msg);
    epode_stanza_free(msg);
    return r;
}

/* Runs the engine until a reply came or `seconds` passed. */
static void wait_for_reply(epode_conn *conn, struct session *s, int seconds) {
    time_t deadline = time(NULL) + seconds;
    while (!s->replied && !s->done && time(NULL) < deadline) {
        if (epode_conn_run_once(conn, 200) != EPODE_OK) break;
    }
}

/* Logs in, sends, waits, disconnects: the exit code. */
static int run(epode_conn *conn, const struct args *a) {
    struct session s;
    char err[256];
    memset(&s, 0, sizeof s);
    if (a->reply_seconds > 0) {
        epode_conn_add_handler(conn, NULL, "message", NULL, NULL, a->to, EPODE_MATCH_BARE_FROM, on_reply, &s, NULL,
                               NULL);
    }
    epode_result r = epode_conn_connect(conn, a->jid, a->password, NULL, on_status, &s, NULL);
    if (r != EPODE_OK) {
        epode_conn_last_error(conn, err, sizeof err);
        fprintf(stderr, "send_once: connect: %s\n", err);
        return r == EPODE_ERR_INVALID_JID ? EXIT_USAGE : EXIT_LOGIN;
    }
    if (!s.online) {
        fprintf(stderr, "send_once: login failed: %s\n", s.failure[0] ? s.failure : "no session");
        return EXIT_LOGIN;
    }
    if (send_message(conn, a->to, a->body) != EPODE_OK) {
        epode_conn_last_error(conn, err, sizeof err);
        fprintf(stderr, "send_once: send: %s\n", err);
        epode_conn_disconnect(conn, NULL);
        return EXIT_SEND;
    }
    if (a->reply_seconds > 0) wait_for_reply(conn, &s, a->reply_seconds);
    /* Returns once the server answered our close (or disconnection_timeout). */
    if (!s.done && epode_conn_disconnect(conn, NULL) != EPODE_OK) {
        epode_conn_last_error(conn, err, sizeof err);
        fprintf(stderr, "send_once: disconnect: %s\n", err);
        return EXIT_SEND;
    }
    if (s.broken || !s.done) {
        fprintf(stderr, "send_once: the session broke: %s\n", s.failure);
        return EXIT_SEND;
    }
    if (a->reply_seconds > 0 && !s.replied) {
        fprintf(stderr, "send_once: no reply from %s within %d s\n", a->to, a->reply_seconds);
        return EXIT_NO_REPLY;
    }
    return EXIT_SENT;
}

int main(int argc, char **argv) {
    struct args a;
    memset(&a, 0, sizeof a); /* parse() fills only what it finds */
    epode_options *opts = NULL;
    if (epode_options_new(&opts) != EPODE_OK) return EXIT_USAGE;
    int code = parse(argc, argv, &a, opts);
    if (code != 0) {
        epode_options_free(opts);
        return code;
    }
    epode_conn *conn = NULL;
    epode_result r = epode_conn_new(a.service, opts, &conn);
    epode_options_free(opts);
    if (r != EPODE_OK) {
        char err[256];
        epode_last_error(err, sizeof err);
        fprintf(stderr, "send_once: %s\n", err);
        return EXIT_USAGE;
    }
    if (a.log_level >= 0) epode_conn_set_log_handler(conn, a.log_level, epode_log_stderr, NULL, NULL);
    code = run(conn, &a);
    epode_conn_free(conn);
    return code;
}
