/* cmd: cobble's subcommands besides the server itself. Each returns the process exit status:
 * 0 success/valid, 1 failure/invalid, 2 usage error. argv[0] is the subcommand's name. */
#ifndef COBBLE_CMD_H
#define COBBLE_CMD_H

#include <stdbool.h>
#include <stdio.h>

/* `cobble check-record`: the dns-persist-01 matcher as a command (server/cmd_check_record.c). */
int cmd_check_record(int argc, char **argv);
/* `cobble check-record --config FILE`: the server's own validator under the server's
 * configuration (server/cmd_check_config.c); wanted when argv has --config or -dnsserver. */
int cmd_check_config(int argc, char **argv);
bool cmd_check_config_wanted(int argc, char **argv);
/* "cobble check-record: <message>" and the usage on stderr; returns 2 (a usage error). */
int cmd_usage_error(void (*print_usage)(FILE *), const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `cobble dig`: one lookup through common/dns, printed as JSON (server/cmd_dig.c). */
int cmd_dig(int argc, char **argv);

/* `cobble record`: the TXT record to publish for an account and a name (server/cmd_record.c). */
int cmd_record(int argc, char **argv);

/* `cobble report`: the conformance report as a table; 1 when a MUST was broken (server/cmd_report.c). */
int cmd_report(int argc, char **argv);

#endif
