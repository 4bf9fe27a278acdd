/* nocrash.c - crash.c without the crashes and delays: the reference output
 * for the crash test. */
#include "mr/apps/crash_common.h"

static void maybe_crash(void) {}
