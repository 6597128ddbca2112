/*
 * replay_main.c — runs a fuzz target over every file of its corpus folder.
 *
 * make check cannot assume clang's libFuzzer, so each target is also linked
 * with this driver and replayed under the sanitizer build: one "ok" line per
 * corpus file, and a crash is a failure.  New inputs found by `make fuzz`
 * are added to tests/fuzz/corpus/<name>/ as regressions.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fsx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	char *names[100000];
	size_t n = 0;
	DIR *d;
	struct dirent *e;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	d = opendir(argv[1]);
	if (!d) {
		printf("FAIL fuzz %s: no corpus folder\n", argv[1]);
		return 1;
	}
	while ((e = readdir(d)) && n < 100000) {
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	for (size_t i = 0; i < n; i++) {
		struct buf b;
		char *path = fs_join(argv[1], names[i]);

		buf_init(&b, 64u << 20);
		if (!path || fs_read_file(&b, path, 64u << 20) < 0) {
			printf("FAIL fuzz %s: cannot read\n", names[i]);
			return 1;
		}
		LLVMFuzzerTestOneInput(b.data ? b.data : (const uint8_t *)"", b.len);
		printf("ok fuzz %s/%s\n", strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1],
		       names[i]);
		buf_release(&b);
		free(path);
		free(names[i]);
	}
	if (n == 0) {
		printf("FAIL fuzz %s: empty corpus\n", argv[1]);
		return 1;
	}
	return 0;
}
