/* keepalive — BOSH session persistence across processes (Strophe's
 * keepalive + restore()).
 *
 *   keepalive login   SERVICE JID PASSWORD FILE   log in, keep the session in FILE, exit without
 *                                                 ending it (as a page reload would)
 *   keepalive restore SERVICE JID FILE            attach to the kept session, send ourselves a
 *                                                 message and wait for it, then disconnect
 *
 * Prints one line per status, and "MESSAGE back" when the message came
 * through. Exit code 0 on success; restore without a kept session prints
 * the library's message and exits 3. */
#include "epode.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct state {
    bool up, message;
};

static void on_status(void *ud, epode_conn *conn, epode_status status, const char *condition,
                      const epode_stanza *stanza) {
    struct state *s = (struct state *)ud;
    (void)conn;
    (void)stanza;
    printf("%s%s%s\n", epode_status_name((int)status), condition ? " " : "", condition ? condition : "");
    fflush(stdout);
    if (status == EPODE_STATUS_CONNECTED || status == EPODE_STATUS_ATTACHED) s->up = true;
}

static int on_message(void *ud, epode_conn *conn, const epode_stanza *stanza) {
    (void)conn;
    (void)stanza;
    ((struct state *)ud)->message = true;
    printf("MESSAGE back\n");
    return EPODE_HANDLER_REMOVE;
}

static epode_conn *open_conn(const char *service, const char *file) {
    epode_options *o = NULL;
    epode_conn *c = NULL;
    if (epode_options_new(&o) != EPODE_OK) return NULL;
    /* sync: the engine runs on this thread, calls return when done. */
    if (epode_options_set(o, "sync", "true") != EPODE_OK || epode_options_set(o, "keepalive", "true") != EPODE_OK ||
        epode_options_set(o, "keepalive_path", file) != EPODE_OK || epode_conn_new(service, o, &c) != EPODE_OK) {
        char err[256];
        epode_last_error(err, sizeof err);
        fprintf(stderr, "keepalive: %s\n", err);
    }
    epode_options_free(o);
    return c;
}

static int login(const char *service, const char *jid, const char *password, const char *file) {
    struct state s = {false, false};
    epode_conn *c = open_conn(service, file);
    if (c == NULL) return 1;
    if (epode_conn_connect(c, jid, password, NULL, on_status, &s, NULL) != EPODE_OK) {
        char err[256];
        epode_conn_last_error(c, err, sizeof err);
        fprintf(stderr, "keepalive: %s\n", err);
    }
    /* Free without disconnect: the session stays on the server. */
    epode_conn_free(c);
    return s.up ? 0 : 1;
}

static int restore(const char *service, const char *jid, const char *file) {
    struct state s = {false, false};
    epode_conn *c = open_conn(service, file);
    if (c == NULL) return 1;
    epode_result r = epode_conn_restore(c, jid, on_status, &s, NULL);
    if (r != EPODE_OK) {
        char err[256];
        epode_conn_last_error(c, err, sizeof err);
        printf("%s: %s\n", epode_result_str((int)r), err);
        epode_conn_free(c);
        return r == EPODE_ERR_NO_SESSION ? 3 : 1;
    }
    if (s.up) {
        char me[256], raw[512];
        epode_conn_jid(c, me, sizeof me, NULL);
        epode_conn_add_handler(c, NULL, "message", NULL, NULL, me, 0, on_message, &s, NULL, NULL);
        snprintf(raw, sizeof raw,
                 "<message xmlns='jabber:client' to='%s' type='chat'><body>still here</body></message>", me);
        epode_conn_send_raw(c, raw);
        for (int i = 0; i < 100 && !s.message; i++) epode_conn_run_once(c, 100);
        epode_conn_disconnect(c, NULL);
    }
    epode_conn_free(c);
    return s.up && s.message ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "login") == 0) return login(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 5 && strcmp(argv[1], "restore") == 0) return restore(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: keepalive login SERVICE JID PASSWORD FILE\n"
                    "       keepalive restore SERVICE JID FILE\n");
    return 2;
}
