/*
 * verify_pool.c — a few threads checking chunks (see verify_pool.h).
 *
 * One mutex guards the batch; workers sleep on `go` until the batch
 * generation changes, take task numbers under the mutex until none are
 * left, and the last one to finish wakes the caller on `done`.  Batches are
 * small (a segment of a pack, a few dozen chunks) and tasks long (a chunk's
 * decode and hash), so one lock per task costs nothing measurable.
 */
#include "sync/verify_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/mem.h"

struct vpool {
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	pthread_t tid[VPOOL_MAX_THREADS];
	struct vpool_worker w[VPOOL_MAX_THREADS]; /* w[0]: the calling thread */
	unsigned nthreads, started;
	bool stop;
	uint64_t generation;
	/* the batch */
	vpool_task_fn fn;
	void *ctx;
	size_t n, next;
	unsigned busy;   /* workers still inside this batch */
	int err;
	char detail[512];
};

struct vpool_arg {
	struct vpool *p;
	unsigned k;
};

/* Takes and runs tasks until none are left; called with the mutex held,
 * returns with it held. */
static void drain(struct vpool *p, struct vpool_worker *w)
{
	while (p->next < p->n && p->err == 0) {
		size_t i = p->next++;
		int r;

		pthread_mutex_unlock(&p->mu);
		r = p->fn(w, i, p->ctx);
		pthread_mutex_lock(&p->mu);
		if (r < 0 && p->err == 0) {
			p->err = r;
			snprintf(p->detail, sizeof(p->detail), "%s", err_detail());
		}
	}
}

static void *worker_main(void *arg)
{
	struct vpool *p = ((struct vpool_arg *)arg)->p;
	unsigned k = ((struct vpool_arg *)arg)->k;
	uint64_t seen = 0;

	mem_free(arg);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->generation == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->stop)
			break;
		seen = p->generation;
		drain(p, &p->w[k]);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int worker_init(struct vpool_worker *w)
{
	w->raw = mem_alloc(LIMIT_CHUNK_MAX);
	if (!w->raw)
		return -ENOMEM;
	return codec_new(&w->codec, 3);
}

int vpool_new(struct vpool **out, unsigned threads)
{
	struct vpool *p = mem_calloc(1, sizeof(*p));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int r = 0;

	if (!p)
		return -ENOMEM;
	if (threads == 0)
		threads = cpus > 0 ? (unsigned)cpus : 1;
	p->nthreads = threads > VPOOL_MAX_THREADS ? VPOOL_MAX_THREADS : threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	for (unsigned k = 0; r == 0 && k < p->nthreads; k++)
		r = worker_init(&p->w[k]);
	for (unsigned k = 1; r == 0 && k < p->nthreads; k++) {
		struct vpool_arg *a = mem_alloc(sizeof(*a));

		if (!a) {
			r = -ENOMEM;
			break;
		}
		*a = (struct vpool_arg){ .p = p, .k = k };
		if (pthread_create(&p->tid[k], NULL, worker_main, a) != 0) {
			mem_free(a);
			r = err_set(-EAGAIN, "cannot start a verifying thread");
			break;
		}
		p->started++;
	}
	if (r < 0) {
		vpool_free(p);
		return r;
	}
	*out = p;
	return 0;
}

int vpool_run(struct vpool *p, size_t n, vpool_task_fn fn, void *ctx)
{
	int r;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->ctx = ctx;
	p->n = n;
	p->next = 0;
	p->err = 0;
	p->busy = p->started;
	p->generation++;
	pthread_cond_broadcast(&p->go);
	drain(p, &p->w[0]);
	while (p->busy)
		pthread_cond_wait(&p->done, &p->mu);
	r = p->err;
	pthread_mutex_unlock(&p->mu);
	if (r < 0)
		return err_set(r, "%s", p->detail);
	return 0;
}

void vpool_free(struct vpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (unsigned k = 1; k <= p->started; k++)
		pthread_join(p->tid[k], NULL);
	for (unsigned k = 0; k < p->nthreads; k++) {
		codec_free(p->w[k].codec);
		mem_free(p->w[k].raw);
	}
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	mem_free(p);
}
