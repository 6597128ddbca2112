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
 * never retried), -EPROTO (the peer broke its protocol).  A read that
 * fails part way has already delivered what arrived to the sink, so the
 * caller keeps every verified byte and asks only for the rest.
 */
#ifndef FERRY_SYNC_TRANSPORT_H
#define FERRY_SYNC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define TRANSPORT_OPS_VERSION 1u

/* Receives delivered bytes in order; a negative return aborts the read
 * and is returned by it. */
typedef int (*transport_sink_fn)(const void *p, size_t n, void *ctx);

struct transport_opts {
	const char *ca_file;        /* https: extra CA bundle (NULL: system) */
	bool insecure_tls;          /* https: never set by default */
	const char *known_hosts;    /* sftp: NULL = ~/.ssh/known_hosts */
	const char *identity;       /* sftp: NULL = ~/.ssh/id_ed25519 */
	unsigned connect_timeout_s; /* 0 = 30 */
	unsigned low_speed_time_s;  /* abort a transfer slower than */
	unsigned low_speed_bytes;   /* low_speed_bytes/s for that long; 0 = 60 s, 1 B/s */
};

struct transport;

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
	int (*list)(struct transport *t, const char *dir,
		    int (*fn)(const char *name, void *ctx), void *ctx);
};

/* Every transport starts with this. */
struct transport {
	const struct transport_ops *ops;
	char *url;
	char detail[256]; /* last error detail, also left with err_set() */
};

/* Picks the transport that handles url (a bare path is file) and opens it. */
int transport_open(struct transport **out, const char *url,
		   const struct transport_opts *o) FERRY_MUST_USE;
void transport_close(struct transport *t);
int transport_size(struct transport *t, const char *path, uint64_t *out) FERRY_MUST_USE;
int transport_read(struct transport *t, const char *path, uint64_t off, uint64_t len,
		   transport_sink_fn sink, void *ctx) FERRY_MUST_USE;
/* Reads a whole small file into out, refusing one larger than max. */
int transport_fetch(struct transport *t, const char *path, struct buf *out,
		    size_t max) FERRY_MUST_USE;
bool transport_can_list(const struct transport *t);
int transport_list(struct transport *t, const char *dir,
		   int (*fn)(const char *name, void *ctx), void *ctx) FERRY_MUST_USE;

/* Registers an extra table (tests register the fake transport). */
int transport_register(const struct transport_ops *ops) FERRY_MUST_USE;

extern const struct transport_ops transport_file_ops;
extern const struct transport_ops transport_http_ops;
extern const struct transport_ops transport_sftp_ops;
extern const struct transport_ops transport_fake_ops;

#endif
