/* log.h - levelled, topic-tagged debug logging; off unless LABLOG is set.
 *
 * Lines look like "<ms> <TOPIC> S<id> message\n": milliseconds since the
 * process started, a short upper-case topic, the id of the peer/server (-1
 * prints "--"), then the text. test-scripts/pretty-log.py reads this format.
 * Topics in use: Raft VOTE LEAD APND CMIT PERS SNAP TIMR; services RSM KV
 * CTRL SKV MR; transport RPC NET; tester TEST.
 *
 * Configuration (read once, at the first log call or log_init()):
 *   LABLOG=<level>[:TOPIC,TOPIC...]   level: error|warn|info|debug|trace
 *   LABLOG_FILE=<path>                append to a file instead of stderr
 * With LABLOG unset nothing is printed (programs that want their warnings
 * shown call log_set_level(LOG_WARN)); libraries report failures through
 * return codes and leave printing to the program.
 *
 * Each line is formatted into a local buffer and emitted with one write(2),
 * so lines from different threads never interleave. Thread-safe. */
#ifndef COMMON_LOG_H_
#define COMMON_LOG_H_

#include <stdbool.h>

enum log_level {
    LOG_OFF = -1,
    LOG_ERROR = 0,
    LOG_WARN = 1,
    LOG_INFO = 2,
    LOG_DEBUG = 3,
    LOG_TRACE = 4,
};

/* Current threshold; reading it is a relaxed atomic load (cheap when off). */
extern int log_threshold_;

/* Read LABLOG/LABLOG_FILE now (idempotent). */
void log_init(void);
/* Override the level (e.g. daemons raise it to LOG_WARN). */
void log_set_level(int level);
/* True if a line at this level and topic would be printed. */
bool log_enabled(int level, const char *topic);
/* Print one line (checks log_enabled itself). */
void log_printf(int level, const char *topic, int id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The macro skips argument evaluation entirely when the level is off. */
#define LOGF(level, topic, id, ...)                                        \
    do {                                                                   \
        if ((level) <= __atomic_load_n(&log_threshold_, __ATOMIC_RELAXED)) \
            log_printf((level), (topic), (id), __VA_ARGS__);               \
    } while (0)

#define log_error(topic, id, ...) LOGF(LOG_ERROR, topic, id, __VA_ARGS__)
#define log_warn(topic, id, ...) LOGF(LOG_WARN, topic, id, __VA_ARGS__)
#define log_info(topic, id, ...) LOGF(LOG_INFO, topic, id, __VA_ARGS__)
#define log_debug(topic, id, ...) LOGF(LOG_DEBUG, topic, id, __VA_ARGS__)
#define log_trace(topic, id, ...) LOGF(LOG_TRACE, topic, id, __VA_ARGS__)

#endif /* COMMON_LOG_H_ */
