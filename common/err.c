/* err.c - names and messages for the error codes in err.h. */
#include "common/err.h"

#include <string.h>

struct err_entry {
    int code;
    const char *name;
    const char *msg;
};

static const struct err_entry err_table[] = {
#define ERR_ROW_(code, value, name, msg) {value, name, msg},
    ERR_TABLE(ERR_ROW_)
#undef ERR_ROW_
};

#define ERR_COUNT (sizeof(err_table) / sizeof(err_table[0]))

static const struct err_entry *err_find(int code)
{
    for (size_t i = 0; i < ERR_COUNT; i++)
        if (err_table[i].code == code)
            return &err_table[i];
    return NULL;
}

const char *err_name(int code)
{
    const struct err_entry *e = err_find(code);
    return e ? e->name : "EUNKNOWN";
}

const char *err_msg(int code)
{
    const struct err_entry *e = err_find(code);
    return e ? e->msg : "unknown error";
}

int err_parse(const char *name, size_t len)
{
    for (size_t i = 0; i < ERR_COUNT; i++) {
        const char *n = err_table[i].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return err_table[i].code;
    }
    return ERR_REMOTE;
}
