/* cmd: cobble's subcommands besides the server itself. Each returns the process exit status:
 * 0 success/valid, 1 failure/invalid, 2 usage error. argv[0] is the subcommand's name. */
#ifndef COBBLE_CMD_H
#define COBBLE_CMD_H

/* `cobble check-record`: the dns-persist-01 matcher as a command (server/cmd_check_record.c). */
int cmd_check_record(int argc, char **argv);
/* `cobble dig`: one lookup through common/dns, printed as JSON (server/cmd_dig.c). */
int cmd_dig(int argc, char **argv);

/* `cobble record`: the TXT record to publish for an account and a name (server/cmd_record.c). */
int cmd_record(int argc, char **argv);

/* `cobble report`: the conformance report as a table; 1 when a MUST was broken (server/cmd_report.c). */
int cmd_report(int argc, char **argv);

#endif
