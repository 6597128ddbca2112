/*
 * transport.h — how ferry reads a repository it does not own.
 *
 * A transport answers three questions about the files of a repository
 * (paths relative to its root, '/'-separated: "heads/renjiao/all",
 * "packs/ab/ab12….idx"): how large is a file, what are bytes
 * [offset, offset+len) of it (streamed), and — optionally — what is in a
 * folder.  Everything else (planning, verification, resume, failover,
 * bandwidth limits) is generic and lives above this table, so a transport
 * trusts nothing and checks nothing: every byte it delivers is verified
 * by the caller before use.
 *
 * Implementations (one file each, registered in transport.c):
 *   file   a path or file:// URL — a USB stick, a drop folder, a LAN share,
 *          another school's store (transport_file.c)
 *   http   http:// and https:// through libcurl (transport_http.c)
 *   sftp   sftp://user@host[:port]/path through libssh2 (transport_sftp.c)
 *   fake   in memory with scripted faults, for unit tests (transport_fake.c)
 *
 * The table is versioned: a transport sets .version = TRANSPORT_OPS_VERSION
 * and transport_open() refuses one built for another version.
 *
 * Errors: -ENOENT (no such file), -ETIMEDOUT, -ECONNRESET / -EIO (the link
 * failed: retry later or elsewhere), -EHOSTUNREACH / -ECONNREFUSED (no
 * such source now), -EKEYREJECTED (host key or TLS certificate refused:
 * never retried), -EPROTO (the peer broke its protocol), -EINVAL (a path
 * or URL that is refused, see below), -EPROTONOSUPPORT (no transport for
 * a URL's scheme).  A read that fails part way has already delivered what
 * arrived to the sink, so the caller keeps every verified byte and asks
 * only for the rest.
 *
 * Paths.  Every path handed to a transport comes, in the end, from hostile
 * data (a manifest, a listing), so the wrappers below refuse, with -EINVAL,
 * any path that is empty, absolute, longer than LIMIT_PATH_BYTES, deeper
 * than LIMIT_PATH_DEPTH, or has an empty, "." or ".." segment, a segment
 * longer than LIMIT_NAME_BYTES, a NUL or a backslash — before any
 * transport sees it (transport_path_check()).  Transports may rely on it.
 *
 * URLs.  A URL starts with a scheme, "name://"; anything else is a path
 * and goes to the file transport ("./a://b" reaches a folder named "a:").
 * The file transport takes
 *   /media/usb, ./repo, repo      absolute or relative (to the working
 *                                 directory at open time) folder
 *   file:///media/usb             RFC 8089; %XX escapes are decoded
 *   file://localhost/media/usb    accepted: RFC 8089 says localhost is the
 *                                 local machine, as an empty host is
 *   file://host/share             refused with -EINVAL: ferry reads remote
 *                                 folders only once they are mounted
 *
 * Threads.  One transport may serve several reads at once from different
 * threads (the file transport reads with pread); opening and closing are
 * not concurrent with anything else on that transport.  t->detail is for
 * single-threaded callers; threads use err_detail(), which is per thread.
 */
#ifndef FERRY_SYNC_TRANSPORT_H
#define FERRY_SYNC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define TRANSPORT_OPS_VERSION 1u

/* The largest piece a sink is handed at once: transport_read() splits
 * anything a transport delivers in larger pieces. */
#define TRANSPORT_PIECE_BYTES (1u << 20)

/* Receives delivered bytes in order; a negative return aborts the read
 * and is returned by it. */
typedef int (*transport_sink_fn)(const void *p, size_t n, void *ctx);

struct ratelimit;

struct transport_opts {
	/* Shared by every transport opened with it: one bandwidth cap for
	 * every byte a run reads (sync/ratelimit.h; NULL = no cap).  The
	 * wrappers below take from it, so no transport need know of it. */
	struct ratelimit *limit;
	const char *ca_file;	    /* https: extra CA bundle (NULL: system) */
	bool insecure_tls;	    /* https: never set by default */
	const char *known_hosts;    /* sftp: NULL = ~/.ssh/known_hosts */
	const char *identity;	    /* sftp: NULL = ~/.ssh/id_ed25519 */
	unsigned connect_timeout_s; /* 0 = 30 */
	unsigned low_speed_time_s;  /* abort a transfer slower than */
	unsigned low_speed_bytes;   /* low_speed_bytes/s for that long; 0 = 60 s, 1 B/s */
};

struct transport;

/*
 * The table each transport fills.  Contract for implementers:
 *
 *   open    allocates an object whose first member is struct transport,
 *           zeroed (mem_calloc), and may set base.ops to its own table or
 *           a variant of it (the fake uses a table without list for a
 *           source that refuses listing); transport_open() sets base.ops
 *           if open left it NULL, and always sets base.url to its own copy
 *           of the URL, which it owns and frees.  o may be NULL.
 *   close   frees what open allocated (never base.url); takes NULL-free,
 *           fully opened objects only.
 *   size, read, list
 *           get paths that passed transport_path_check() (list: or "",
 *           the root).  read delivers exactly len bytes in order and
 *           returns 0, or fails with what it has delivered so far; the
 *           wrapper turns a read that delivers more or fewer bytes than
 *           asked while claiming success into -EPROTO.  On failure, leave
 *           a detail with transport_fail().
 */
struct transport_ops {
	unsigned version;
	const char *name;
	/* Does this transport handle url? */
	bool (*handles)(const char *url);
	int (*open)(struct transport **out, const char *url, const struct transport_opts *o);
	void (*close)(struct transport *t);
	int (*size)(struct transport *t, const char *path, uint64_t *out);
	int (*read)(struct transport *t, const char *path, uint64_t off, uint64_t len,
		    transport_sink_fn sink, void *ctx);
	/* NULL when the transport cannot list (plain HTTP). Names of the
	 * entries of a folder, without "." and "..", in no particular order. */
	int (*list)(struct transport *t, const char *dir, int (*fn)(const char *name, void *ctx),
		    void *ctx);
};

/* Every transport starts with this. */
struct transport {
	const struct transport_ops *ops;
	char *url;
	struct ratelimit *limit; /* from the opts at open time; borrowed */
	char detail[256]; /* last error detail, also left with err_set() */
};

/* Picks the transport that handles url (a bare path is file) and opens it.
 * The built-in tables are asked first, then registered ones in the order
 * of registration.  *out is owned by the caller: free with
 * transport_close().  -EPROTONOSUPPORT when no table handles url. */
int transport_open(struct transport **out, const char *url,
		   const struct transport_opts *o) FERRY_MUST_USE;
/* Accepts NULL. */
void transport_close(struct transport *t);
int transport_size(struct transport *t, const char *path, uint64_t *out) FERRY_MUST_USE;
/* Streams [off, off+len) of path to sink in pieces of at most
 * TRANSPORT_PIECE_BYTES, each first taken from the run's bandwidth cap
 * (transport_opts.limit) in slices of RATELIMIT_SLICE_BYTES.  -EBADMSG when the file ends before off+len
 * (after delivering what it has). */
int transport_read(struct transport *t, const char *path, uint64_t off, uint64_t len,
		   transport_sink_fn sink, void *ctx) FERRY_MUST_USE;
/* Reads a whole small file, appending it to out (initialised by the
 * caller), refusing one larger than max with -EFBIG.  On failure out keeps
 * its former length. */
int transport_fetch(struct transport *t, const char *path, struct buf *out,
		    size_t max) FERRY_MUST_USE;
bool transport_can_list(const struct transport *t);
/* Calls fn with the name of each entry of dir ("" for the root); a
 * negative return of fn stops the listing and is returned.  Names that
 * could not be handed back as a path segment (a backslash, "..") are
 * skipped.  -EOPNOTSUPP when the transport cannot list. */
int transport_list(struct transport *t, const char *dir, int (*fn)(const char *name, void *ctx),
		   void *ctx) FERRY_MUST_USE;

/* Registers an extra table (tests register the fake transport).  Registering
 * the same table twice is a no-op.  -EINVAL for a table built for another
 * TRANSPORT_OPS_VERSION or missing a required function; -EFBIG past
 * TRANSPORT_MAX_REGISTERED tables. */
#define TRANSPORT_MAX_REGISTERED 8u
int transport_register(const struct transport_ops *ops) FERRY_MUST_USE;

/* Checks a repository path (p, n may hold a NUL, which is refused) against
 * the rules above; allow_root lets "" stand for the root (listing).
 * Returns 0 or -EINVAL with a detail naming the offending path. */
int transport_path_check(const char *p, size_t n, bool allow_root) FERRY_MUST_USE;

/* For implementers: records the detail in t->detail and with err_set(),
 * and returns code. */
int transport_fail(struct transport *t, int code, const char *fmt, ...) FERRY_PRINTF(3, 4);

extern const struct transport_ops transport_file_ops;
extern const struct transport_ops transport_http_ops;
extern const struct transport_ops transport_sftp_ops;
extern const struct transport_ops transport_fake_ops;

/*
 * The fake transport (tests only; register it with
 * transport_register(&transport_fake_ops)).  URLs are "fake://NAME".
 * Repositories live in memory in one process-wide table, guarded by a
 * mutex; they outlive the transports opened on them until
 * transport_fake_reset().  Opening a NAME nothing was put under fails with
 * -EHOSTUNREACH, like a source that is not there.  Reads are delivered in
 * pieces of at most TRANSPORT_FAKE_PIECE_BYTES; the fake never sleeps.
 *
 * Faults are scripted per repository and path; `times` is how many reads
 * (or operations) the fault hits before it is spent, 0 = every one.
 *   transport_fake_fail     a read delivers after_bytes (counted from the
 *                           start of that read) and then fails with err;
 *                           a stall is err = -ETIMEDOUT.  path NULL: the
 *                           whole source is down — open and every
 *                           operation fail with err at once.
 *   transport_fake_corrupt  reads covering file offset `at` deliver that
 *                           byte inverted (the stored copy is unchanged).
 */
#define TRANSPORT_FAKE_PIECE_BYTES (64u << 10)

/* Stores a copy of data as path of repository name (created if needed),
 * replacing what was there.  path NULL creates an empty repository. */
int transport_fake_put(const char *name, const char *path, const void *data,
		       size_t n) FERRY_MUST_USE;
/* Forgets every repository, fault and counter. */
void transport_fake_reset(void);
int transport_fake_fail(const char *name, const char *path, uint64_t after_bytes, int err,
			unsigned times) FERRY_MUST_USE;
int transport_fake_corrupt(const char *name, const char *path, uint64_t at,
			   unsigned times) FERRY_MUST_USE;
/* A repository that refuses listing is opened without list (as plain HTTP
 * is), and transports already open on it answer -EOPNOTSUPP. */
int transport_fake_set_listable(const char *name, bool listable) FERRY_MUST_USE;
/* Bytes handed to sinks, and read requests made, on repository name since
 * it was created (0 for an unknown name). */
uint64_t transport_fake_served(const char *name);
uint64_t transport_fake_requests(const char *name);

#endif
