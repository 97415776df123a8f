/* A tiny test harness for the C API tests: CHECK records a failure and
 * goes on; check_summary() prints the closing "N passed, N failed" line. */
#ifndef EPODE_TEST_CHECK_H
#define EPODE_TEST_CHECK_H

#include <stdio.h>

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

#endif
