/*
 * carousel.h — the satellite sender: which symbol of which object goes out
 * next (the schedule), where its bytes come from (the source), and the
 * loop that paces FLUTE packets onto a UDP multicast group (the sender).
 *
 * Schedule (carousel_sched.c, no I/O, so the bench drives it alone).
 * Objects come in two classes, in the caller's priority order:
 *
 *   meta  the FDT, ferry.json(.sig), heads/, packs/list: small, and sent
 *         in a "meta round" at the start of every pass and again after
 *         every meta_every bulk packets (about a tenth of the link);
 *   bulk  the manifest repository, then content packs: sent once per pass.
 *
 * A pass gives every block of every bulk object K fresh symbols.  The
 * bulk blocks are cut into groups whose encoders fit mem_budget together;
 * inside a group the blocks take turns, one symbol each, so a fade hits
 * many blocks a little instead of one block entirely.  And the pass is cut
 * in `slices` (8): the first eighth of every block's symbols, group after
 * group, then the second eighth, and so on.  So every block gets some of
 * its fresh symbols early in each pass: a receiver that lost 10 % of the
 * first pass completes the whole repository early in the second, not when
 * the second pass reaches its last group.  The price is an encoder built
 * once per block per slice when the repository's encoders do not all fit
 * mem_budget (about 8 x the repository size of precode work per pass,
 * ~50 ms per MB at 170 MB/s: small beside a satellite pass).  Meta rounds
 * take turns over all meta blocks in the same way.
 *
 * Symbols stay fresh: pass p of a block with K source symbols sends
 *
 *     p = 0:  ESI j                                  (the source symbols)
 *     p > 0:  ESI K + ((p-1)K + j) mod (2^24 - K)    (repair symbols)
 *
 * for j = 0 .. K-1, so no ESI repeats until (2^24 - K) / K repair passes
 * have gone by (2047 passes at K = 8192, about 16 million at K = 1): the
 * ESI space wraps onto the repair range only, after a receiver would long
 * have finished or dropped its symbols.  Meta objects count their rounds
 * the same way.  `repeat` (for the bench only) sends ESI j in every pass:
 * the naive carousel the fresh one is compared with.
 *
 * Errors follow core/err.h.
 */
#ifndef FERRY_SATELLITE_CAROUSEL_H
#define FERRY_SATELLITE_CAROUSEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/crypto.h"
#include "core/err.h"
#include "satellite/satellite.h"

/* ---- schedule ---- */

enum sat_class { SAT_CLASS_META, SAT_CLASS_BULK };

struct sat_sched_object {
	struct rq_oti oti;    /* must pass rq_oti_check() */
	enum sat_class cls;
	uint64_t first_pass;  /* pass this object starts at (0: source symbols
			       * first); carried over when the list changes */
};

struct sat_sched_opts {
	size_t mem_budget;    /* encoder bytes a bulk group may need (0: 64 MiB) */
	uint64_t meta_every;  /* bulk packets between meta rounds (0: 9 x the
			       * symbols of a meta round, at least 1024) */
	bool repeat;          /* bench baseline: the same ESIs every pass */
	uint32_t slices;      /* slices of a bulk pass (0: SAT_SCHED_SLICES) */
};

#define SAT_SCHED_SLICES 8u

struct sat_sched_sym {
	uint32_t object;      /* index into the caller's objects */
	uint8_t sbn;
	uint32_t esi;
};

/* The ESI of symbol j (0..K-1) of pass `pass` of a block with K source
 * symbols, as drawn above. */
uint32_t sat_esi(uint32_t k, uint64_t pass, uint32_t j);

/* Bytes an rq_encoder of K symbols of T bytes holds (satellite.h). */
size_t sat_encoder_bytes(uint32_t k, size_t t);

struct sat_sched;

/* Builds a schedule over n objects (copied).  -EINVAL for a bad OTI,
 * -ENOMEM. */
int sat_sched_new(struct sat_sched **out, const struct sat_sched_object *objs, size_t n,
		  const struct sat_sched_opts *opts) FERRY_MUST_USE;

/* The next symbol to send: 1 with *out filled, or 0 at the end of a pass
 * (nothing to send; the next call starts the next pass).  A schedule with
 * no objects returns 0 every time. */
int sat_sched_next(struct sat_sched *s, struct sat_sched_sym *out);

/* Passes completed since sat_sched_new(). */
uint64_t sat_sched_passes(const struct sat_sched *s);

/* The pass object i would send next: its first_pass for a new schedule
 * that should go on where this one stopped. */
uint64_t sat_sched_object_pass(const struct sat_sched *s, uint32_t i);

/* Accepts NULL. */
void sat_sched_free(struct sat_sched *s);

/* ---- source: the bytes of encoding symbols ----
 *
 * Objects are either in memory (the FDT, meta files) or files read with
 * pread() one source block at a time: a source symbol is read straight
 * from the file; a repair symbol comes from an encoder of its block, kept
 * in a least-recently-used cache of at most mem_budget bytes (the block
 * being encoded is read into a buffer that is freed at once).  A file is
 * opened by path when needed and refused if its size changed. */
struct sat_source;

int sat_source_new(struct sat_source **out, size_t mem_budget) FERRY_MUST_USE;

/* Adds object number sat_source_count() (index for sat_source_symbol()):
 * either mem (length bytes, copied) or path (a file of length bytes). */
int sat_source_add(struct sat_source *src, const struct rq_oti *oti, const void *mem,
		   const char *path) FERRY_MUST_USE;
uint32_t sat_source_count(const struct sat_source *src);

/* Writes symbol esi of block sbn of object i (T bytes) into out.  -EIO,
 * -ENOENT or -ESTALE (with a detail) when the file is gone or changed;
 * -ENOMEM. */
int sat_source_symbol(uint8_t *out, struct sat_source *src, uint32_t i, uint8_t sbn,
		      uint32_t esi) FERRY_MUST_USE;

/* Accepts NULL. */
void sat_source_free(struct sat_source *src);

/* ---- the repository as a list of objects (carousel_repo.c) ---- */

struct sat_file {
	char *path;           /* relative to the repository, owned */
	uint64_t length;
	uint8_t sha256[32];
	enum sat_class cls;
	uint64_t mtime_ns, ino; /* to notice a change between scans */
	uint8_t *mem;         /* meta files: the bytes read at scan, owned */
};

/* The files of a repository in carousel order: ferry.json, ferry.json.sig,
 * heads/..., packs/list (meta); manifests.git/ (hooks, logs, description
 * and info/exclude left out); packs/: those of prio's channels first, in
 * channel order, then the rest newest first (each .idx before its .pack).  local/ and anything else is never
 * sent.  prev (may be NULL) is the previous scan: a file with the same
 * path, size, mtime and inode keeps its hash without being read again. */
struct sat_repo {
	struct sat_file *files;
	size_t n;
	uint64_t bytes;
};

/* Content packs to send first (carousel_prio.c): those of the current
 * releases of the channels the county names, most-subscribed first. */
#define SAT_SEND_MAX_FIRST 64 /* channels named with --first */

struct sat_prio {
	struct sat_prio_pack {
		struct sha256 name;
		int rank; /* the channel's place in the list */
	} *v;
	size_t n, cap;
};

/* Reads, from root's manifests.git, the packs (meta/packs) of each
 * channel's current release; an unknown channel is an error (-ENOENT with
 * a sentence).  n == 0 gives an empty list. */
int sat_prio_load(struct sat_prio *out, const char *root, const char *const *channels,
		  size_t n) FERRY_MUST_USE;
/* The rank of a pack (0 first), or -1 if no named channel needs it. */
int sat_prio_rank(const struct sat_prio *p, const struct sha256 *pack);
void sat_prio_release(struct sat_prio *p);

/* prio (may be NULL) puts the named channels' packs before the others. */
int sat_repo_scan(struct sat_repo *out, const char *root, const struct sat_repo *prev,
		  const struct sat_prio *prio) FERRY_MUST_USE;
/* True if both scans list the same files with the same contents. */
bool sat_repo_same(const struct sat_repo *a, const struct sat_repo *b);
void sat_repo_release(struct sat_repo *r);

/* ---- the sender (carousel_send.c) ---- */

struct sat_send_stats {
	uint64_t packets;       /* datagrams sent */
	uint64_t wire_bytes;    /* UDP payload + IP/UDP headers */
	uint64_t header_bytes;  /* FLUTE headers within wire_bytes (+ IP/UDP) */
	uint64_t passes;        /* bulk passes completed */
	uint64_t send_errors;   /* datagrams the kernel refused (skipped) */
	double seconds;         /* since the start */
	size_t files;
	uint64_t repo_bytes;
	uint32_t fdt_instance;
};

struct sat_send_opts {
	const char *repo;
	struct sockaddr_storage group;
	socklen_t group_len;
	int ttl;                /* 0: 1 */
	const char *iface;      /* NULL: the kernel's choice */
	uint32_t tsi;
	uint64_t rate;          /* bytes per second on the wire, > 0 */
	size_t symbol_size;     /* 0: RQ_SYMBOL_SIZE_DEFAULT */
	size_t mem_budget;      /* 0: 64 MiB */
	uint64_t passes;        /* stop after this many passes (0: no limit) */
	double duration;        /* stop after this many seconds (0: no limit) */
	const char *const *first; /* channels whose packs go first (--first) */
	size_t nfirst;
	/* Called about once a second and at the end; returns < 0 to stop. */
	int (*progress)(void *ctx, const struct sat_send_stats *st, const char *event);
	void *ctx;
};

/* Parses "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6) into o->group. */
int sat_addr_parse(struct sat_send_opts *o, const char *text) FERRY_MUST_USE;

/* Runs the carousel until opts' passes or duration, or progress() asks to
 * stop.  Fills *st.  -EINVAL for bad options, -ENOENT if the repository
 * has nothing to send, socket errors as negative errno with a detail. */
int sat_send_run(const struct sat_send_opts *opts, struct sat_send_stats *st) FERRY_MUST_USE;

#endif
