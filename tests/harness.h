/*
 * harness.h — the unit-test harness every tests/<module>/test_*.c uses.
 *
 * A test is a void function; a failed CHECK prints where and why and ends
 * that test.  main() lists the tests in a table:
 *
 *     static void test_cut_points(void) { CHECK(n == 3); CHECK_EQ_U(a, b); }
 *     int main(void) { return t_main((struct t_case[]){
 *             { "cut points", test_cut_points }, { 0 } }); }
 *
 * Output is one line per test, "ok <binary>: <name>" or
 * "FAIL <binary>: <name>: <file>:<line>: <what>", which tests/run.sh counts.
 * The exit status is non-zero if any test failed.
 */
#ifndef FERRY_TESTS_HARNESS_H
#define FERRY_TESTS_HARNESS_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct t_case {
	const char *name;
	void (*fn)(void);
};

extern jmp_buf t_jmp;
void t_fail(const char *file, int line, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
int t_main(const struct t_case *cases);
/* A scratch directory unique to this test binary (created on first use). */
const char *t_tmpdir(void);
/* Path to a checked-in fixture: tests/data/<name>. */
const char *t_data(const char *name);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			t_fail(__FILE__, __LINE__, "%s", #c);                  \
	} while (0)

#define CHECK_MSG(c, ...)                                                      \
	do {                                                                   \
		if (!(c))                                                      \
			t_fail(__FILE__, __LINE__, __VA_ARGS__);               \
	} while (0)

#define CHECK_EQ_U(a, b)                                                       \
	do {                                                                   \
		unsigned long long a_ = (a), b_ = (b);                         \
		if (a_ != b_)                                                  \
			t_fail(__FILE__, __LINE__, "%s == %s (%llu != %llu)",  \
			       #a, #b, a_, b_);                                \
	} while (0)

#define CHECK_EQ_I(a, b)                                                       \
	do {                                                                   \
		long long a_ = (a), b_ = (b);                                  \
		if (a_ != b_)                                                  \
			t_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)",  \
			       #a, #b, a_, b_);                                \
	} while (0)

#define CHECK_OK(expr)                                                         \
	do {                                                                   \
		long long r_ = (expr);                                         \
		if (r_ < 0)                                                    \
			t_fail(__FILE__, __LINE__, "%s failed: %lld (%s)",     \
			       #expr, r_, err_text((int)r_));                  \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (strcmp(a_, b_) != 0)                                       \
			t_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", \
			       #a, #b, a_, b_);                                \
	} while (0)

#endif
