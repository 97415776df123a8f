/* A tiny test harness for the C API tests: CHECK records a failure and
 * goes on; check_summary() prints the closing "N passed, N failed" line. */
#ifndef EPODE_TEST_CHECK_H
#define EPODE_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks_passed = 0;
static int checks_failed = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            checks_passed++;                                                         \
        } else {                                                                     \
            checks_failed++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

/* Checks that a call returned the expected epode_result. */
#define CHECK_RESULT(call, expected)                                                                \
    do {                                                                                            \
        epode_result r_ = (call);                                                                   \
        if (r_ == (expected)) {                                                                     \
            checks_passed++;                                                                        \
        } else {                                                                                    \
            char msg_[256];                                                                         \
            epode_last_error(msg_, sizeof msg_);                                                    \
            checks_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (%s)\n", __FILE__, __LINE__, #call, \
                    epode_result_str((int)r_), epode_result_str((int)(expected)), msg_);            \
        }                                                                                           \
    } while (0)

static int check_summary(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

/* Reads NAME from the env file of the test server whose folder is in the
 * environment variable SERVER (lines: export NAME='value'). Returns 1 with
 * the value in out, or 0 (and says why) when the server or the name is missing. */
static inline int server_env(const char *server, const char *name, char *out, size_t cap) {
    const char *dir = getenv(server);
    if (dir == NULL) {
        fprintf(stderr, "%s is not set: start the servers (tests/run-all.sh)\n", server);
        return 0;
    }
    char path[1024], line[1024], key[128];
    snprintf(path, sizeof path, "%s/env", dir);
    snprintf(key, sizeof key, "export %s='", name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        return 0;
    }
    out[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, strlen(key)) == 0) {
            char *v = line + strlen(key);
            char *end = strchr(v, '\'');
            if (end) *end = '\0';
            snprintf(out, cap, "%s", v);
        }
    }
    fclose(f);
    if (out[0] == '\0') fprintf(stderr, "%s has no %s\n", path, name);
    return out[0] != '\0';
}

#endif
