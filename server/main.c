/* main: flags, config, wiring and signals; subcommands dispatch to server/cmd_*.c. */
#include "server/cmd.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "check-record") == 0)
		return cmd_check_record(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "dig") == 0)
		return cmd_dig(argc - 1, argv + 1);
	fprintf(stderr, "cobble: the server is not wired yet\n");
	return 1;
}
