/*
 * usb.h — the USB sneakernet: a stick written at the county, read at school,
 * and the request file that carries a school's wants back to the county.
 *
 * A stick is an ordinary ferry repository (ferry.json, heads/, manifests.git/,
 * packs/ with packs/list) that any `ferry sync --source` can read, plus three
 * files for people and for the next export:
 *
 *     README.txt          what this is and what to do at school (Chinese and
 *                         English; UTF-8 with BOM and CRLF for Notepad)
 *     index.html          channels, releases, dates and sizes
 *     ferry-usb.json      what the export put here (never trusted: the
 *                         school verifies everything it reads from a stick)
 *     ferry-request.json  written by `ferry usb request` at school
 *
 * Export (usb_export.c).  usb_export() writes into DEST only what the
 * chosen channels need, with names a FAT32 or exFAT stick can hold
 * (usb_fat_name_check()) and no file of 4 GiB or more.  Everything is
 * written to a temporary name, fsynced and renamed, in an order that leaves
 * a smaller valid repository wherever the stick is pulled: the manifest git
 * repository (built beside the old one and swapped in whole; it holds only
 * small signed pointers, and its refs need nothing else), then ferry.json
 * and ferry-usb.json (from here on the folder is a repository), then the
 * packs (each .pack before its .idx), packs/list, and the heads last:
 * a head only appears once everything it needs is on the stick.  A file
 * already on the stick with the same size and SHA-256 is kept, so running
 * the export again adds only what is missing (FAT's 2-second mtimes are
 * never looked at).
 *
 * Without a request, a channel's packs are copied whole (each one hashed on
 * the way and checked against its name).  With a request (--for) the stick
 * gets new packs holding exactly the chunks the school lacks: the chunks of
 * the new release minus those of the release the school says it has
 * installed, each decoded and checked against its ID on the way.
 *
 * The request (usb_request.c) is a small JSON document, signed by nothing
 * and trusted for nothing: it only decides what to copy.  Its parser is
 * strict and bounded (tests/fuzz/fuzz_usb_request.c).
 */
#ifndef FERRY_SYNC_USB_H
#define FERRY_SYNC_USB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "sync/store.h"

#define USB_REQUEST_FILE "ferry-request.json"
#define USB_MANIFEST_FILE "ferry-usb.json"
#define USB_README_FILE "README.txt"
#define USB_INDEX_FILE "index.html"
#define USB_REQUEST_FORMAT "ferry-usb-request"
#define USB_REQUEST_VERSION 1
#define USB_REQUEST_MAX_BYTES (256u << 10)
#define USB_REQUEST_MAX_CHANNELS 64u
#define USB_REQUEST_MAX_PATHS 16u
/* FAT32 holds files up to 4 GiB - 1. */
#define USB_FAT_FILE_MAX ((1ull << 32) - 1)
#define USB_MAX_CHANNELS 64u

/* ---- names a FAT32/exFAT stick can hold ------------------------------- */

/* Checks a '/'-separated path relative to the stick's root: every segment
 * non-empty, at most LIMIT_NAME_BYTES, without control characters or any
 * of : * ? " < > | \, not ending in '.' or ' ', and not a Windows device
 * name (con, prn, aux, nul, com1-9, lpt1-9, with or without extension).
 * @return 0, or -EINVAL with a sentence naming the path and the reason. */
int usb_fat_name_check(const char *path) FERRY_MUST_USE;

/* ---- the request -------------------------------------------------------- */

struct usb_request_channel {
	char name[LIMIT_CHANNEL_BYTES + 1];
	uint64_t installed;		    /* installed version, 0 for none */
	char commit[DB_COMMIT_HEX_LEN + 1]; /* its release commit, "" for none */
	uint64_t pending;		    /* version being fetched, 0 for none */
	uint64_t missing_bytes;		    /* what the pending release still lacks */
	size_t npaths;
	char *paths[USB_REQUEST_MAX_PATHS]; /* subscription path prefixes, owned */
};

struct usb_request {
	char repo[33]; /* the repository's id, 32 hex */
	int64_t created;
	size_t n;
	struct usb_request_channel ch[USB_REQUEST_MAX_CHANNELS];
};

/* Frees the paths; the struct may be reused after. Accepts a zeroed one. */
void usb_request_release(struct usb_request *r);

/* The store's state: each subscribed channel, what is installed and
 * pending.  -ENOENT (with a sentence) for a store that has synced nothing
 * yet and so does not know its repository. */
int usb_request_from_store(struct usb_request *out, struct store *st, int64_t now) FERRY_MUST_USE;

/* Appends the request as JSON (LF line ends) to out. */
int usb_request_format(struct buf *out, const struct usb_request *r) FERRY_MUST_USE;

/* Parses n bytes strictly: the format and version, only known members,
 * each of its type, channel names valid (mf_channel_valid), commits 40
 * lowercase hex, paths valid release paths, a channel at most once, at most
 * USB_REQUEST_MAX_CHANNELS channels and USB_REQUEST_MAX_PATHS paths each.
 * On failure *out is empty (released).  -EFBIG past USB_REQUEST_MAX_BYTES,
 * -EBADMSG with a detail naming what is wrong. */
int usb_request_parse(struct usb_request *out, const void *p, size_t n) FERRY_MUST_USE;

/* ---- export --------------------------------------------------------------- */

struct usb_export_opts {
	const char *src;	     /* a repository or a school store */
	const char *dest;	     /* the stick (a folder) */
	const char *const *channels; /* NULL: every channel of src (or the request's) */
	size_t nchannels;
	uint64_t max_size;	       /* 0: no limit */
	const struct usb_request *req; /* --for, or NULL */
	void (*log)(const char *line, void *ctx);
	/* Bytes of packs written so far of those planned (may be NULL). */
	void (*progress)(uint64_t done, uint64_t total, void *ctx);
	void *ctx;
};

struct usb_export_channel {
	char name[LIMIT_CHANNEL_BYTES + 1];
	uint64_t version;
	uint64_t time; /* when the release was published */
	uint64_t files;
	uint64_t size;	  /* bytes of its files */
	uint64_t bytes;	  /* bytes this export adds for it */
	bool included;	  /* its head is on the stick */
	char reason[256]; /* why it was left out, or "" */
};

struct usb_export_result {
	struct usb_export_channel ch[USB_MAX_CHANNELS];
	size_t n;
	uint64_t bytes_written; /* bytes written to the stick by this run */
	uint64_t bytes_kept;	/* bytes already there, checked by size and hash */
	uint64_t packs_copied;	/* whole packs copied */
	uint64_t packs_made;	/* packs written holding just the needed chunks */
	uint64_t chunks;	/* chunks in the packs made */
	uint64_t stick_bytes;	/* total bytes of the repository on the stick */
};

/* Writes the export (see the top of this file).  Returns 0 when every
 * channel asked for is on the stick, -EAGAIN when --max-size left some out
 * (their reasons say why), or a negative errno with a detail sentence
 * (-EINVAL for a name FAT cannot hold, -EFBIG for a file FAT cannot hold,
 * -ENOENT for an unknown channel, -EBADMSG for damaged source data,
 * -ENOSPC when the stick is full). */
int usb_export(struct usb_export_result *out, const struct usb_export_opts *o) FERRY_MUST_USE;

/* ---- salvage -------------------------------------------------------------- */

#define USB_SALVAGE_NAMES 8u

struct usb_salvage_result {
	uint64_t packs;			     /* packs found on the stick */
	uint64_t damaged_packs;		     /* packs that did not verify */
	uint64_t rescued_chunks;	     /* sound entries taken out of damaged packs */
	uint64_t bad_chunks;		     /* entries that did not decode to their IDs */
	char damaged[USB_SALVAGE_NAMES][96]; /* the first damaged packs' paths */
	size_t ndamaged;
};

/* Reads the whole stick once and writes into dir (emptied first) a
 * repository holding everything on it that still verifies: sound packs as
 * they are, the sound entries of damaged packs in new packs, and the
 * stick's ferry.json, heads and manifests.git as they are (the sync checks
 * those against signatures).  The import syncs from dir when a sync from
 * the stick itself ended partial (usb_salvage.c). */
int usb_salvage(struct usb_salvage_result *out, const char *stick, const char *dir) FERRY_MUST_USE;

/* rm -r of a folder ferry made (the salvage folder), links not followed.
 * 0 if path does not exist. */
int usb_remove_tree(const char *path) FERRY_MUST_USE;

/* Writes README.txt and index.html for what the export put on the stick
 * (usb_readme.c).  Called by usb_export() last. */
int usb_readme_write(const char *dest, const struct usb_export_result *res, const char *repo_id,
		     int64_t now) FERRY_MUST_USE;

#endif
