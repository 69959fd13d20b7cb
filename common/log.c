/* log: one writer for every log line, so text and JSON output stay consistent. */
#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static int json_format;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_enabled(enum log_level lvl)
{
	return lvl >= min_level;
}

void log_init(enum log_level min, int json)
{
	min_level = min;
	json_format = json;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* JSON string escaping for the message; enough for log text (no jansson in common/). */
static void put_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void log_msg(enum log_level lvl, const char *reqid, const char *fmt, ...)
{
	if (lvl < min_level)
		return;
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[96];
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

	pthread_mutex_lock(&log_lock);
	if (json_format) {
		fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\"", when, level_names[lvl]);
		if (reqid) {
			fputs(",\"request\":", stderr);
			put_json_string(stderr, reqid);
		}
		fputs(",\"msg\":", stderr);
		put_json_string(stderr, msg);
		fputs("}\n", stderr);
	} else {
		fprintf(stderr, "%s %-5s %s%s%s%s\n", when, level_names[lvl], reqid ? "[" : "",
		        reqid ? reqid : "", reqid ? "] " : "", msg);
	}
	pthread_mutex_unlock(&log_lock);
}
