/* log: levelled, printf-checked logging; text for people or JSON lines for machines. */
#ifndef COBBLE_LOG_H
#define COBBLE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Set the lowest level printed and the format (json != 0: one JSON object per line). */
void log_init(enum log_level min, int json);
/* Parse "debug"/"info"/"warn"/"error"; returns -1 when unknown. */
int log_level_parse(const char *s, enum log_level *out);

/* Whether lines at lvl are printed (to skip building text that would be dropped). */
int log_enabled(enum log_level lvl);

/* reqid may be NULL. Never pass key material. */
void log_msg(enum log_level lvl, const char *reqid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, NULL, __VA_ARGS__)

#endif
