/* epode.h must compile after X11's Xlib.h, which defines Status, Bool,
 * True, False, None and more as macros or typedefs (GTK, Qt-on-X11 and
 * SDL programs include it first). Only headers are used: no X display. */
#include <X11/Xlib.h>
#include <epode.h>

#include "check.h"

int main(void) {
    Status x_status = 0; /* Xlib's own Status still means what Xlib says */
    epode_status status = EPODE_STATUS_CONNECTED;
    CHECK(x_status == 0);
    CHECK(status == 5);
    CHECK(epode_version() != NULL);
    return check_summary("xlib_test");
}
