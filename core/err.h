/*
 * err.h — how ferry reports failure.
 *
 * Every fallible function returns int: >= 0 on success, a negative errno on
 * failure.  A small set of codes carries meaning across the tree:
 *
 *   -EBADMSG       corrupt data, hash mismatch, malformed format
 *   -EKEYREJECTED  a signature did not verify, or the key is not trusted
 *   -EPROTO        a peer broke its protocol
 *   -ENOENT        a named object is missing
 *   -EFBIG         a size limit was exceeded
 *   -ETIMEDOUT     a deadline passed
 *   -ENOMEM        allocation failed
 *
 * Codes propagate unchanged; only adapter files translate a library's own
 * errors into these.  Library code never prints: where it fails it may
 * leave one line of detail with err_set(), which the command-line front end
 * prints once as "ferry: <what>: <why>".  The detail is per thread, so the
 * two-thread packer and the receiver can each keep their own.
 */
#ifndef FERRY_CORE_ERR_H
#define FERRY_CORE_ERR_H

#include <errno.h>
#include <stdarg.h>

#define FERRY_MUST_USE __attribute__((warn_unused_result))
#define FERRY_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Records a detail line for the current thread and returns code, so a
 * failing path reads `return err_set(-EBADMSG, "pack %s: bad magic", name);`.
 * A later err_set() replaces the detail. */
int err_set(int code, const char *fmt, ...) FERRY_PRINTF(2, 3);

/* Like err_set() but keeps the detail already present if there is one:
 * used where a caller wants to add context only when the callee gave none. */
int err_keep(int code, const char *fmt, ...) FERRY_PRINTF(2, 3);

/* The detail recorded by the last err_set() on this thread, or "" if none.
 * Owned by the thread; valid until the next err_set()/err_clear(). */
const char *err_detail(void);

void err_clear(void);

/* A short human text for a negative code: the detail if one was recorded,
 * else strerror(-code). */
const char *err_text(int code);

#endif
