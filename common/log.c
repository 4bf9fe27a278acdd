/* log.c - levelled, topic-tagged logging with one write(2) per line. */
#include "common/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/clock.h"

#define LOG_MAX_TOPICS 32
#define LOG_TOPIC_LEN 16
#define LOG_LINE_MAX 4096

int log_threshold_ = LOG_OFF;

/* Written once by the constructor (before any thread exists), read-only
 * afterwards, so no lock is needed. */
static uint64_t log_start_ns;
static int log_fd = 2;
static int log_ntopics; /* 0 = every topic */
static char log_topics[LOG_MAX_TOPICS][LOG_TOPIC_LEN];

static int log_parse_level(const char *s, size_t n)
{
    static const char *names[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 5; i++)
        if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
            return i;
    if (n == 1 && s[0] >= '0' && s[0] <= '4')
        return s[0] - '0';
    if (n == 3 && strncasecmp(s, "off", 3) == 0)
        return LOG_OFF;
    return LOG_DEBUG; /* LABLOG=1 or anything else: debug */
}

static void log_parse_topics(const char *s)
{
    while (*s && log_ntopics < LOG_MAX_TOPICS) {
        size_t n = strcspn(s, ",");
        if (n > 0 && n < LOG_TOPIC_LEN) {
            memcpy(log_topics[log_ntopics], s, n);
            log_topics[log_ntopics][n] = '\0';
            log_ntopics++;
        }
        s += n;
        if (*s == ',')
            s++;
    }
}

__attribute__((constructor)) static void log_constructor(void)
{
    log_init();
}

void log_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    log_start_ns = clock_now_ns();
    const char *spec = getenv("LABLOG");
    if (spec && *spec) {
        size_t n = strcspn(spec, ":");
        log_threshold_ = log_parse_level(spec, n);
        if (spec[n] == ':')
            log_parse_topics(spec + n + 1);
    }
    const char *file = getenv("LABLOG_FILE");
    if (file && *file) {
        int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0)
            log_fd = fd;
    }
}

void log_set_level(int level)
{
    __atomic_store_n(&log_threshold_, level, __ATOMIC_RELAXED);
}

bool log_enabled(int level, const char *topic)
{
    if (level > __atomic_load_n(&log_threshold_, __ATOMIC_RELAXED))
        return false;
    if (log_ntopics == 0 || level == LOG_ERROR)
        return true;
    for (int i = 0; i < log_ntopics; i++)
        if (strcmp(log_topics[i], topic) == 0)
            return true;
    return false;
}

void log_printf(int level, const char *topic, int id, const char *fmt, ...)
{
    if (!log_enabled(level, topic))
        return;
    char line[LOG_LINE_MAX];
    uint64_t ms = (clock_now_ns() - log_start_ns) / 1000000ull;
    int n;
    if (id >= 0)
        n = snprintf(line, sizeof(line), "%06llu %-4s S%d ",
                     (unsigned long long)ms, topic, id);
    else
        n = snprintf(line, sizeof(line), "%06llu %-4s -- ",
                     (unsigned long long)ms, topic);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* truncated: keep the newline */
    line[len++] = '\n';
    /* One write per line: lines from concurrent threads never interleave. */
    ssize_t w = write(log_fd, line, len);
    (void)w;
}
