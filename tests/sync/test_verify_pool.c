/*
 * test_verify_pool.c — the threads that check chunks during a sync.
 *
 * Every task of a batch runs exactly once, on some thread, with that
 * thread's own scratch; batches follow each other on the same threads; the
 * first failure stops the handing out and comes back with its detail even
 * when a worker thread met it; an empty batch and a one-thread pool work.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "core/limits.h"
#include "core/mem.h"
#include "sync/verify_pool.h"
#include "tests/harness.h"

#define N 2000

struct counts {
	_Atomic unsigned ran[N];
	_Atomic unsigned on_other_thread;
	pthread_t caller;
	size_t fail_at;
};

static int count_task(struct vpool_worker *w, size_t i, void *ctx)
{
	struct counts *c = ctx;

	/* The scratch is this thread's alone: write it and read it back. */
	memset(w->raw, (int)(i & 0xff), 4096);
	for (size_t k = 0; k < 4096; k += 512)
		if (w->raw[k] != (uint8_t)(i & 0xff))
			return err_set(-EINVAL, "scratch shared between threads");
	atomic_fetch_add(&c->ran[i], 1);
	if (!pthread_equal(pthread_self(), c->caller))
		atomic_fetch_add(&c->on_other_thread, 1);
	if (i == c->fail_at)
		return err_set(-EBADMSG, "task %zu failed on purpose", i);
	return 0;
}

static void run_batches(unsigned threads)
{
	struct vpool *p = NULL;
	static struct counts c;

	CHECK_EQ_I(vpool_new(&p, threads), 0);
	for (int round = 0; round < 20; round++) {
		memset(&c, 0, sizeof(c));
		c.caller = pthread_self();
		c.fail_at = (size_t)-1;
		CHECK_EQ_I(vpool_run(p, N, count_task, &c), 0);
		for (size_t i = 0; i < N; i++)
			CHECK_MSG(atomic_load(&c.ran[i]) == 1, "task %zu ran %u times", i,
				  atomic_load(&c.ran[i]));
	}
	if (threads == 1)
		CHECK_EQ_U(atomic_load(&c.on_other_thread), 0);
	CHECK_EQ_I(vpool_run(p, 0, count_task, &c), 0);
	vpool_free(p);
}

static void test_every_task_once(void)
{
	run_batches(0);
	run_batches(2);
	run_batches(4);
}

static void test_one_thread(void)
{
	run_batches(1);
}

static void test_first_failure(void)
{
	struct vpool *p = NULL;
	static struct counts c;
	unsigned total = 0;

	CHECK_EQ_I(vpool_new(&p, 2), 0);
	memset(&c, 0, sizeof(c));
	c.caller = pthread_self();
	c.fail_at = 7;
	err_clear();
	CHECK_EQ_I(vpool_run(p, N, count_task, &c), -EBADMSG);
	CHECK_MSG(strstr(err_detail(), "task 7 failed on purpose") != NULL, "detail: %s",
		  err_detail());
	for (size_t i = 0; i < N; i++)
		total += atomic_load(&c.ran[i]);
	CHECK_MSG(total < N, "the failure did not stop the batch (%u tasks ran)", total);
	/* The pool is usable after a failed batch. */
	memset(&c, 0, sizeof(c));
	c.caller = pthread_self();
	c.fail_at = (size_t)-1;
	CHECK_EQ_I(vpool_run(p, N, count_task, &c), 0);
	vpool_free(p);
	vpool_free(NULL);
}

int main(void)
{
	return t_main((struct t_case[]){ { "every task runs once, batch after batch", test_every_task_once },
					 { "a one-thread pool runs on the caller", test_one_thread },
					 { "the first failure stops the batch, with its detail", test_first_failure },
					 { 0 } });
}
