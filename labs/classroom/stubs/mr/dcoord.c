/* dcoord.c - the distributed-mode coordinator (mr/dist.h) is not part of
 * lab 1: `mrcoordinator -D` reports that and exits. (The lab is the
 * shared-directory coordinator in mr/coordinator.c.) */
#include <stdlib.h>

#include "mr/dist.h"
#include "mr/mr_internal.h"

struct mr_dcoord *mr_dcoord_new(const char *const *files, int nfiles,
                                const struct mr_dcoord_opts *o, char *msg,
                                size_t n)
{
    (void)files, (void)nfiles, (void)o;
    mr_msg(msg, n, "distributed mode (-D) is not part of the lab 1 handout");
    return NULL;
}

int mr_dcoord_listen(struct mr_dcoord *c, const char *addr)
{
    (void)c, (void)addr;
    return -1;
}

const char *mr_dcoord_addr(const struct mr_dcoord *c)
{
    (void)c;
    return "";
}

int mr_dcoord_nmap(const struct mr_dcoord *c)
{
    (void)c;
    return 0;
}

bool mr_dcoord_wait(struct mr_dcoord *c, uint64_t timeout_ms)
{
    (void)c, (void)timeout_ms;
    return true;
}

bool mr_dcoord_failed(struct mr_dcoord *c, char *msg, size_t n)
{
    (void)c;
    mr_msg(msg, n, "not implemented");
    return true;
}

void mr_dcoord_stats(struct mr_dcoord *c, struct mr_dcoord_stats *s)
{
    (void)c;
    *s = (struct mr_dcoord_stats){0, 0, 0, 0};
}

void mr_dcoord_free(struct mr_dcoord *c)
{
    (void)c;
}
