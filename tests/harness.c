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
		for (char *s = tmpdir + strlen(base ? base : "/tmp") + 1; *s; s++)
			if (*s == '/')
				*s = '-';
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

/* One case; kept apart from t_main so setjmp clobbers nothing of the loop. */
static bool run_case(const struct t_case *c)
{
	err_clear();
	if (setjmp(t_jmp) != 0)
		return false;
	c->fn();
	return true;
}

int t_main(const struct t_case *cases)
{
	const char *self = getenv("FERRY_TEST_NAME");
	int failed = 0;

	if (self)
		prog = self;
	for (const struct t_case *c = cases; c->name; c++) {
		if (run_case(c)) {
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
