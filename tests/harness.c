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
		size_t at;

		snprintf(tmpdir, sizeof(tmpdir), "%s/ferry-unit-", base ? base : "/tmp");
		at = strlen(tmpdir);
		snprintf(tmpdir + at, sizeof(tmpdir) - at, "%s-%d", prog, (int)getpid());
		/* The test name is "<module>/test_x": keep the directory flat. */
		for (char *p = tmpdir + at; *p; p++)
			*p = *p == '/' ? '-' : *p;
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

int t_main(const struct t_case *cases)
{
	const char *self = getenv("FERRY_TEST_NAME");
	/* volatile: both live across the setjmp() below (-Wclobbered). */
	volatile int failed = 0;
	const struct t_case *volatile c = cases;

	if (self)
		prog = self;
	for (; c->name; c++) {
		err_clear();
		if (setjmp(t_jmp) == 0) {
			c->fn();
			printf("ok %s: %s\n", prog, c->name);
		} else {
			printf("FAIL %s: %s\n", prog, c->name);
			failed++;
		}
		fflush(stdout);
	}
	if (tmpdir[0] && !failed) {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return failed ? 1 : 0;
}
