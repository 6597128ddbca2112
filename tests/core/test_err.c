/*
 * test_err.c — the per-thread error detail.
 */
#include <pthread.h>

#include "core/err.h"
#include "tests/harness.h"

static void test_wraps_its_own_detail(void)
{
	CHECK(err_set(-EBADMSG, "inner %d", 42) == -EBADMSG);
	/* Callers add context by passing the detail back in. */
	CHECK(err_set(-EBADMSG, "outer: %s", err_detail()) == -EBADMSG);
	CHECK_STR(err_detail(), "outer: inner 42");
	CHECK(err_set(-EIO, "%s / %s", err_detail(), err_detail()) == -EIO);
	CHECK_STR(err_detail(), "outer: inner 42 / outer: inner 42");
}

static void test_keep_and_text(void)
{
	err_clear();
	CHECK_STR(err_text(-ENOENT), "No such file or directory");
	(void)err_keep(-EIO, "first");
	(void)err_keep(-EIO, "second");
	CHECK_STR(err_detail(), "first");
	CHECK_STR(err_text(-EIO), "first");
}

static void *other_thread(void *arg)
{
	(void)err_set(-EIO, "from another thread");
	return arg;
}

static void test_per_thread(void)
{
	pthread_t t;

	(void)err_set(-EBADMSG, "mine");
	CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK_STR(err_detail(), "mine");
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "a detail wrapping itself comes out whole", test_wraps_its_own_detail },
		{ "err_keep keeps the first detail", test_keep_and_text },
		{ "details are per thread", test_per_thread },
		{ 0 } });
}
