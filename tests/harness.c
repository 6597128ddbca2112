/*
 * harness.c — runs a table of tests, one line of output each.
 */
#include "tests/harness.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

jmp_buf t_jmp;
static const char *prog = "test";
static char tmpdir[512];
static char datapath[1024];

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s: %s:%d: ", prog, file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	longjmp(t_jmp, 1);
}

const char *t_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("FERRY_TEST_TMP");

		snprintf(tmpdir, sizeof(tmpdir), "%s/ferry-unit-%s-%d", base ? base : "/tmp", prog,
			 (int)getpid());
		mkdir(tmpdir, 0755);
	}
	return tmpdir;
}

const char *t_data(const char *name)
{
	const char *top = getenv("FERRY_SRC");

	snprintf(datapath, sizeof(datapath), "%s/tests/data/%s", top ? top : ".", name);
	return datapath;
}

/* Runs one case; 1 if it failed.  Only volatile locals are used after the
 * longjmp, so -Wclobbered has nothing to warn about at -O1. */
static int run_case(const struct t_case *c)
{
	const struct t_case *volatile vc = c;

	if (setjmp(t_jmp) == 0) {
		vc->fn();
		printf("ok %s: %s\n", prog, vc->name);
		fflush(stdout);
		return 0;
	}
	printf("FAIL %s: %s\n", prog, vc->name);
	fflush(stdout);
	return 1;
}

int t_main(const struct t_case *cases)
{
	const char *self = getenv("FERRY_TEST_NAME");
	int failed = 0;

	if (self)
		prog = self;
	for (const struct t_case *c = cases; c->name; c++) {
		err_clear();
		failed += run_case(c);
	}
	if (tmpdir[0] && !failed) {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return failed ? 1 : 0;
}
