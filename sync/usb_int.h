/*
 * usb_int.h — what the USB export's files share (not a public interface).
 */
#ifndef FERRY_SYNC_USB_INT_H
#define FERRY_SYNC_USB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "sync/usb.h"

#define REPO_GIT_DIR_USB "manifests.git"

/* One export run. */
struct usb_ctx {
	const struct usb_export_opts *o;
	struct usb_export_result *res;
	uint8_t *buf;	      /* 1 MiB copy buffer */
	char **names;	      /* paths written this run, for case collisions */
	uint64_t done, total; /* pack bytes written and planned, for progress */
	size_t nnames, capnames;
};

/* Counts n more bytes written and reports progress. */
void usb_progress(struct usb_ctx *x, uint64_t n);

/* Checks rel (relative to the stick) for FAT and against every name
 * taken before in a case-insensitive way, and takes it. */
int usb_name_take(struct usb_ctx *x, const char *rel) FERRY_MUST_USE;

/* Copies src to dst (rel is dst relative to the stick) unless dst already
 * has the same size and SHA-256; with expect, src must hash to it. */
int usb_copy_file(struct usb_ctx *x, const char *rel, const char *src, const char *dst,
		  const struct sha256 *expect) FERRY_MUST_USE;

/* Copies the folder src to dst (rel: dst relative to the stick), file by
 * file as usb_copy_file(); a link or device in src is refused. */
int usb_copy_tree(struct usb_ctx *x, const char *rel, const char *src,
		  const char *dst) FERRY_MUST_USE;

/* Brings dst (a manifest git repository on the stick) to src's files in
 * place: pack files first, then refs and info files, each replaced
 * atomically, so every ref on the stick always resolves. */
int usb_copy_git(struct usb_ctx *x, const char *src, const char *dst) FERRY_MUST_USE;

/* Removes every "*.tmp-*" file under dir, at any depth (links not
 * followed): what a killed export or a pulled stick left behind. */
int usb_tmp_sweep_tree(const char *dir) FERRY_MUST_USE;

/* SHA-256 of a file (links not followed), read through buf (1 MiB). */
int usb_hash_file(struct sha256 *out, const char *path, uint8_t *buf) FERRY_MUST_USE;

#endif
