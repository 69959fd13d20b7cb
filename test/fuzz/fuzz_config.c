/* fuzz_config: libFuzzer target for the configuration loader (server/config.c): the input as a
 * configuration file (through a memfd, so config_load reads it as it reads any file), then
 * config_validate. Checks: a refusal always says why, in one line; whatever loaded is freed. */
#include "server/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("cobble-fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	char path[64], err[512] = "";
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct config c;
	config_defaults(&c);
	int rc = config_load(&c, path, err, sizeof err);
	if (rc == 0) {
		err[0] = '\0';
		rc = config_validate(&c, err, sizeof err);
	}
	if (rc != 0 && (!err[0] || strchr(err, '\n')))
		abort();
	config_clear(&c);
	close(fd);
	return 0;
}
