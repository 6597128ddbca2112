/*
 * mem.c — allocation wrappers with failure injection for tests.
 *
 * The counter is atomic because the packer allocates from two threads.
 */
#include "core/mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_long fail_after = -1;
static atomic_long count;

static bool should_fail(void)
{
	long limit = atomic_load(&fail_after);
	long n = atomic_fetch_add(&count, 1);

	return limit >= 0 && n >= limit;
}

long mem_fail_after(long n)
{
	long made = atomic_exchange(&count, 0);

	atomic_store(&fail_after, n);
	return made;
}

void *mem_alloc(size_t size)
{
	if (should_fail())
		return NULL;
	return malloc(size ? size : 1);
}

void *mem_calloc(size_t n, size_t size)
{
	if (should_fail())
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *mem_realloc(void *p, size_t size)
{
	if (should_fail())
		return NULL;
	return realloc(p, size ? size : 1);
}

void *mem_dup(const void *p, size_t size)
{
	void *q = mem_alloc(size);

	if (q && size)
		memcpy(q, p, size);
	return q;
}

char *mem_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *q = mem_alloc(len + 1);

	if (!q)
		return NULL;
	memcpy(q, s, len);
	q[len] = '\0';
	return q;
}

char *mem_strdup(const char *s)
{
	return mem_dup(s, strlen(s) + 1);
}

void mem_free(void *p)
{
	free(p);
}

void mem_freep(void *pp)
{
	void **p = pp;

	free(*p);
	*p = NULL;
}

void mem_closep(int *fdp)
{
	if (*fdp >= 0)
		(void)close(*fdp);
	*fdp = -1;
}
