/* replay: runs a libFuzzer target over its seed corpus without libFuzzer, so that `make test`
 * replays every corpus (plain and ASan builds) as a regression test. Built as
 * build/test/test_fuzz_<name> from test/fuzz/fuzz_<name>.c; reads test/fuzz/corpus/fuzz_<name>/
 * (relative to the repository root, where the test runner starts it). Prints one TAP line. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (strncmp(base, "test_", 5) == 0)
		base += 5;
	char dir[512];
	snprintf(dir, sizeof dir, "%s/%s", argc > 1 ? argv[1] : "test/fuzz/corpus", base);
	DIR *dp = opendir(dir);
	if (!dp) {
		printf("not ok - %s: cannot open the corpus %s\n", base, dir);
		return 1;
	}
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(dp))) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		uint8_t *buf = malloc(1 << 20);
		size_t len = buf ? fread(buf, 1, 1 << 20, f) : 0;
		fclose(f);
		if (!buf)
			return 1;
		LLVMFuzzerTestOneInput(buf, len); /* a finding aborts, which fails the suite */
		free(buf);
		n++;
	}
	closedir(dp);
	printf("%s - %s: the seed corpus replays without a finding (%zu inputs)\n", n ? "ok" : "not ok", base, n);
	return n ? 0 : 1;
}
