/*
 * carousel_recv.h — the satellite receiver: from FLUTE packets to files in
 * a drop repository (DESIGN section 7, issue 7).
 *
 * A receiver is fed datagrams one at a time (sat_recv_packet()); it never
 * asks for anything and never trusts the clock.  What it does with them:
 *
 *   - drops packets of another session (TSI) and packets that break the
 *     format (flute.h's strict parser), counting both;
 *   - decodes the file table (FDT, TOI 0) in memory, keeps the last one in
 *     the spool (so a restart knows the objects at once), and learns each
 *     object's location, length and SHA-256 from it;
 *   - spools every useful symbol under the object's identity (SHA-256 +
 *     length + OTI, spool.h), never under its TOI alone;
 *   - decodes each block as soon as it holds enough symbols, and when the
 *     whole object is there checks its SHA-256 against the FDT entry;
 *   - checks what else can be checked before placing the file in the drop
 *     (carousel_check.c: the repository layout, packs by their content
 *     address, heads and ferry.json by signature with the store's keys),
 *     then places it atomically (temporary, fsync, rename, fsync).
 *
 * The drop is a repository folder (ferry.json(.sig), heads/,
 * manifests.git/, packs/) that `ferry sync STORE --source DROP` ingests and
 * verifies again; the command line does that hand-off (cmd_sat_recv.c),
 * since satellite/ does not reach into sync/.
 *
 * Memory is bounded: one FDT being decoded (at most FLUTE_FDT_MAX_BYTES
 * plus a decoder's overhead), at most SAT_RECV_OPEN_OBJECTS spool objects
 * open at once (the least recently used is closed; its files stay), and
 * one block's decoder while it decodes.
 */
#ifndef FERRY_SATELLITE_CAROUSEL_RECV_H
#define FERRY_SATELLITE_CAROUSEL_RECV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "manifests/sshkey.h"

#define SAT_RECV_OPEN_OBJECTS 64u
/* The spool's default cap (--spool-max): 32 recommended packs
 * (LIMIT_PACK_DEFAULT_BYTES), small beside a school box's disk. */
#define SAT_RECV_DEFAULT_SPOOL_MAX (2ull << 30)
/* An object no file table lists is deleted after this many file-table
 * rounds heard without it (carousel_recv_room.c). */
#define SAT_RECV_DEFAULT_STALE_ROUNDS 256u
#define SAT_RECV_DEFAULT_TSI 0u  /* the session `ferry sat send` uses by default */

struct sat_recv_opts {
	const char *spool_dir;          /* created if missing */
	const char *drop_dir;           /* created if missing */
	uint32_t tsi;                   /* the session to follow */
	const struct ssh_pubkey *keys;  /* the store's trusted keys */
	size_t nkeys;
	/* One line per event worth a log line (a file placed or refused, a
	 * new file table); never per packet.  May be NULL. */
	void (*log)(const char *line, void *ctx);
	void *ctx;
	uint64_t spool_max;             /* bytes; 0: SAT_RECV_DEFAULT_SPOOL_MAX */
	uint32_t stale_rounds;          /* 0: SAT_RECV_DEFAULT_STALE_ROUNDS */
};

struct sat_recv_stats {
	uint64_t packets;      /* datagrams offered */
	uint64_t foreign;      /* another TSI */
	uint64_t bad;          /* refused by the parser or inconsistent */
	uint64_t unknown;      /* a TOI the current FDT does not list */
	uint64_t kept;         /* symbols spooled */
	uint64_t useless;      /* duplicates, or for finished objects */
	uint64_t fdts;         /* file tables decoded */
	uint64_t placed;       /* files placed in the drop */
	uint64_t hash_bad;     /* decoded objects that did not hash right */
	uint64_t refused;      /* decoded objects the checks refused */
	uint64_t fdt_rounds;   /* file-table rounds heard (see carousel_recv_room.c) */
	/* The spool's room; these three are carried over from earlier runs
	 * (SPOOL/room) so status shows them. */
	uint64_t evicted;      /* objects evicted to make room */
	uint64_t stale;        /* objects deleted as no longer announced */
	uint64_t dropped;      /* symbols dropped: no room, nothing evictable */
	uint64_t spool_peak;   /* most bytes the spool held in this run */
};

struct sat_recv;

/* Opens the spool and the drop and loads the last file table.  Free with
 * sat_recv_free().  The folders' names are copied; the keys must outlive
 * *out. */
int sat_recv_new(struct sat_recv **out, const struct sat_recv_opts *o) FERRY_MUST_USE;
void sat_recv_free(struct sat_recv *r);

/* Handles one datagram.  Returns the number of files placed in the drop
 * by it (0 or more); a packet that is bad, foreign or useless is counted,
 * not an error.  Negative only for local failures (disk full, I/O),
 * which the caller should report and may retry. */
int sat_recv_packet(struct sat_recv *r, const void *buf, size_t len) FERRY_MUST_USE;

const struct sat_recv_stats *sat_recv_stats(const struct sat_recv *r);

/* Files the current FDT lists, and how many of them are in the drop. */
void sat_recv_files(const struct sat_recv *r, size_t *listed, size_t *placed);

/* ---- the spool's room (carousel_recv_room.c) ---- */

/* The spool's cap and what it holds now, in bytes. */
void sat_recv_room(const struct sat_recv *r, uint64_t *used, uint64_t *cap);

/* Writes SPOOL/room (cap and the carried-over counters) if they changed
 * since the last save.  The command calls it now and then and on exit. */
int sat_recv_save_room(struct sat_recv *r) FERRY_MUST_USE;

/* What SPOOL/room says (zeros if missing or unreadable: it is only for
 * status). */
struct sat_room_saved {
	uint64_t cap, evicted, stale, dropped;
};
void sat_room_read(struct sat_room_saved *out, const char *spool_dir);

/* ---- the network (carousel_recv_net.c) ---- */

/* Opens a UDP socket bound to group's port and joined to the group
 * ("ADDR:PORT", IPv4 multicast, or "[ADDR]:PORT" for IPv6), on interface
 * iface (a name, or NULL for the default).  Non-blocking.  -EINVAL with
 * a detail for a bad address. */
int sat_recv_socket(int *fd_out, const char *group, const char *iface) FERRY_MUST_USE;

/* ---- the checks before placing (carousel_check.c) ---- */

/* Whether location is a path a repository holds (ferry.json,
 * ferry.json.sig, heads/<channel>, manifests.git/..., packs/list,
 * packs/<xx>/<64 hex>.pack or .idx) and length is within its limit. */
int sat_check_location(const char *location, uint64_t length) FERRY_MUST_USE;

/* Checks the decoded file at path (already matching sha256) before it is
 * placed at location under drop: a pack's name is its SHA-256; a head is
 * signed by one of keys; ferry.json by the ferry.json.sig in the drop
 * (-EAGAIN while there is none, or it does not match: try again once
 * another file is placed); ferry.json.sig parses.  -EKEYREJECTED or
 * -EBADMSG with a detail otherwise. */
int sat_check_file(const char *location, const char *path, const uint8_t sha256[32],
		   const char *drop, const struct ssh_pubkey *keys, size_t nkeys) FERRY_MUST_USE;

#endif
