/*
 * mem.h — allocation wrappers and cleanup helpers.
 *
 * All heap allocation in ferry goes through mem_*(), so tests can make the
 * Nth allocation fail (mem_fail_after()) and check that every path unwinds.
 * The wrappers return NULL on failure like malloc; they never abort.
 *
 * Locals are released by scope with the cleanup attribute:
 *
 *     AUTO_FREE char *s = mem_strdup(x);     freed with mem_free at scope end
 *     AUTO_CLOSE int fd = open(...);         closed at scope end if >= 0
 *     return TAKE_PTR(s);                    hand ownership to the caller
 *
 * Overflow-checked size arithmetic is in mem_mul_ok()/mem_add_ok().
 */
#ifndef FERRY_CORE_MEM_H
#define FERRY_CORE_MEM_H

#include <stdbool.h>
#include <stddef.h>

void *mem_alloc(size_t size);
void *mem_calloc(size_t n, size_t size);
void *mem_realloc(void *p, size_t size);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);
void *mem_dup(const void *p, size_t size);
/* mem_free accepts NULL. */
void mem_free(void *p);

/* Testing: the (n+1)th allocation from now on fails, and every one after
 * it; n < 0 turns injection off.  Returns the number of allocations made
 * since the last call, so a test can learn how many there are. */
long mem_fail_after(long n);

static inline bool mem_mul_ok(size_t *out, size_t a, size_t b)
{
	return !__builtin_mul_overflow(a, b, out);
}

static inline bool mem_add_ok(size_t *out, size_t a, size_t b)
{
	return !__builtin_add_overflow(a, b, out);
}

void mem_freep(void *pp);
void mem_closep(int *fdp);

#define AUTO_FREE __attribute__((cleanup(mem_freep)))
#define AUTO_CLOSE __attribute__((cleanup(mem_closep)))

/* Returns *pp and sets it to NULL, so a cleanup attribute does not free it. */
#define TAKE_PTR(p)                                                            \
	({                                                                     \
		__typeof__(p) take_ptr_tmp_ = (p);                             \
		(p) = NULL;                                                    \
		take_ptr_tmp_;                                                 \
	})

#define TAKE_FD(fd)                                                            \
	({                                                                     \
		int take_fd_tmp_ = (fd);                                       \
		(fd) = -1;                                                     \
		take_fd_tmp_;                                                  \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
