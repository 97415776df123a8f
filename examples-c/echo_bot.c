/* echo_bot — log in and echo every chat message back to its sender.
 *
 *   echo_bot SERVICE JID PASSWORD [KEY=VALUE ...] [--log LEVEL]
 *
 * SERVICE, JID, PASSWORD and KEY=VALUE options as for `status`. LEVEL is
 * debug, info, warn or error: the library's log goes to stderr.
 *
 * Once online it prints "READY full-jid" (scripts wait for that line) and
 * sends its presence. For every chat message with a body it sends the body
 * back to the sender and prints "ECHO sender body". A message "quit", or
 * SIGINT/SIGTERM, makes it disconnect cleanly. Messages stored while it was
 * offline (they carry a XEP-0203 delay) are not echoed: they could hold an
 * old "quit".
 *
 * The engine runs on this thread (sync mode): one loop of
 * epode_conn_run_once, every callback inside it, no locks needed.
 *
 * Exit code: 0 after a clean session (CONNECTED ... DISCONNECTED), 1 if
 * the login failed or the session broke, 2 for bad arguments. */
#include "epode.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

struct bot {
    bool online;   /* CONNECTED seen */
    bool broken;   /* ERROR, CONNFAIL, AUTHFAIL, CONNTIMEOUT seen */
    bool done;     /* DISCONNECTED seen */
    bool quitting; /* disconnect asked for */
};

/* The element's text in a new buffer (free() it), or NULL. */
static char *text_of(const epode_stanza *elem) {
    size_t len = 0;
    if (epode_stanza_text(elem, NULL, 0, &len) != EPODE_ERR_BUFFER_TOO_SMALL) return NULL;
    char *buf = (char *)malloc(len + 1);
    if (buf != NULL && epode_stanza_text(elem, buf, len + 1, NULL) != EPODE_OK) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

static void quit(struct bot *bot, epode_conn *conn, const char *why) {
    if (bot->quitting) return;
    bot->quitting = true;
    /* Inside a callback this only asks; the loop in main runs it out. */
    if (epode_conn_disconnect(conn, why) != EPODE_OK) bot->done = true;
}

static void echo(epode_conn *conn, const char *to, const char *body) {
    const char *attrs[] = {"to", to, "type", "chat", NULL};
    epode_builder *b = NULL;
    epode_stanza *reply = NULL;
    if (epode_builder_msg(attrs, &b) != EPODE_OK) return;
    if (epode_builder_c(b, "body", NULL, body) != EPODE_OK) {
        epode_builder_free(b);
        return;
    }
    if (epode_builder_finish(b, &reply) != EPODE_OK) return;
    if (epode_conn_send(conn, reply) == EPODE_OK) {
        printf("ECHO %s %s\n", to, body);
        fflush(stdout);
    }
    epode_stanza_free(reply);
}

static int on_message(void *ud, epode_conn *conn, const epode_stanza *msg) {
    struct bot *bot = (struct bot *)ud;
    const epode_stanza *body_elem = NULL, *delay = NULL;
    char from[1024];
    if (epode_stanza_find_child(msg, "body", NULL, &body_elem) != EPODE_OK) return EPODE_HANDLER_KEEP;
    if (epode_stanza_find_child(msg, "delay", "urn:xmpp:delay", &delay) == EPODE_OK) return EPODE_HANDLER_KEEP;
    if (epode_stanza_attr(msg, "from", from, sizeof from, NULL) != EPODE_OK) return EPODE_HANDLER_KEEP;
    char *body = text_of(body_elem);
    if (body == NULL) return EPODE_HANDLER_KEEP;
    echo(conn, from, body);
    if (strcmp(body, "quit") == 0) quit(bot, conn, "asked to quit");
    free(body);
    return EPODE_HANDLER_KEEP;
}

static void on_status(void *ud, epode_conn *conn, epode_status status, const char *condition,
                      const epode_stanza *stanza) {
    struct bot *bot = (struct bot *)ud;
    (void)stanza;
    fprintf(stderr, "%s%s%s\n", epode_status_name((int)status), condition ? " " : "", condition ? condition : "");
    switch (status) {
    case EPODE_STATUS_CONNECTED: {
        char jid[1024];
        epode_stanza *presence = NULL;
        bot->online = true;
        if (epode_stanza_parse("<presence xmlns='jabber:client'/>", &presence) == EPODE_OK) {
            epode_conn_send(conn, presence);
            epode_stanza_free(presence);
        }
        if (epode_conn_jid(conn, jid, sizeof jid, NULL) == EPODE_OK) printf("READY %s\n", jid);
        fflush(stdout);
        break;
    }
    case EPODE_STATUS_ERROR:
    case EPODE_STATUS_CONNFAIL:
    case EPODE_STATUS_AUTHFAIL:
    case EPODE_STATUS_CONNTIMEOUT:
        bot->broken = true;
        break;
    case EPODE_STATUS_DISCONNECTED:
        bot->done = true;
        break;
    default:
        break;
    }
}

static int usage(void) {
    fprintf(stderr, "usage: echo_bot SERVICE JID PASSWORD [KEY=VALUE ...] [--log debug|info|warn|error]\n");
    return 2;
}

static int log_level(const char *name) {
    const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

/* Options from KEY=VALUE arguments, with sync on; NULL after a message. */
static epode_options *parse_options(int argc, char **argv, int *level) {
    epode_options *opts = NULL;
    if (epode_options_new(&opts) != EPODE_OK) return NULL;
    epode_options_set(opts, "sync", "true");
    for (int i = 4; i < argc; i++) {
        char key[128];
        const char *eq = strchr(argv[i], '=');
        if (strcmp(argv[i], "--log") == 0 && i + 1 < argc && log_level(argv[i + 1]) >= 0) {
            *level = log_level(argv[++i]);
            continue;
        }
        if (eq == NULL || (size_t)(eq - argv[i]) >= sizeof key) {
            epode_options_free(opts);
            return NULL;
        }
        memcpy(key, argv[i], (size_t)(eq - argv[i]));
        key[eq - argv[i]] = '\0';
        if (epode_options_set(opts, key, eq + 1) != EPODE_OK) {
            char err[256];
            epode_last_error(err, sizeof err);
            fprintf(stderr, "option %s: %s\n", key, err);
            epode_options_free(opts);
            return NULL;
        }
    }
    return opts;
}

int main(int argc, char **argv) {
    if (argc < 4) return usage();
    int level = -1;
    epode_options *opts = parse_options(argc, argv, &level);
    if (opts == NULL) return usage();

    epode_conn *conn = NULL;
    epode_result r = epode_conn_new(argv[1], opts, &conn);
    epode_options_free(opts);
    if (r != EPODE_OK) {
        char err[256];
        epode_last_error(err, sizeof err);
        fprintf(stderr, "cannot create the connection: %s\n", err);
        return 2;
    }
    if (level >= 0) epode_conn_set_log_handler(conn, level, epode_log_stderr, NULL, NULL);

    /* No SA_RESTART: a signal interrupts the wait inside run_once at once. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct bot bot;
    memset(&bot, 0, sizeof bot);
    epode_conn_add_handler(conn, NULL, "message", "chat", NULL, NULL, 0, on_message, &bot, NULL, NULL);
    /* In sync mode connect returns once the session is up or has failed. */
    r = epode_conn_connect(conn, argv[2], argv[3], NULL, on_status, &bot, NULL);
    if (r != EPODE_OK) {
        char err[256];
        epode_conn_last_error(conn, err, sizeof err);
        fprintf(stderr, "connect: %s\n", err);
        epode_conn_free(conn);
        return 1;
    }
    while (!bot.done) {
        if (stop_requested) quit(&bot, conn, "signal");
        if (epode_conn_run_once(conn, 500) != EPODE_OK) break;
    }
    epode_conn_free(conn);
    return bot.online && bot.done && !bot.broken ? 0 : 1;
}
