/*
 * usb_copy.c — putting files on a stick so that a pulled stick is never
 * half-written: temporary name, fsync, rename, fsync of the folder.
 *
 * A file already on the stick with the same size and SHA-256 is kept (FAT
 * keeps mtimes to two seconds, and a copy made on another PC says nothing
 * about its bytes).  A pack is hashed while it is copied and refused if
 * the hash is not its name, so a damaged county disk never travels.  The
 * manifest git repository is brought up to date in place, pack files
 * first (named by their hash, never changed once written), then refs and
 * the info files, each replaced atomically: at every moment every ref on
 * the stick names objects that are there.  (Swapping a whole new copy in
 * needs two renames on FAT, with a moment of no repository at all.)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/crypto.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "sync/usb_int.h"

#define COPY_BUF (1u << 20)

/* A path written earlier this run that differs from rel only in case. */
static int collision(struct usb_ctx *x, const char *rel)
{
	for (size_t i = 0; i < x->nnames; i++)
		if (strcasecmp(x->names[i], rel) == 0 && strcmp(x->names[i], rel) != 0)
			return err_set(-EINVAL,
				       "\"%s\" cannot be written to a USB stick: \"%s\" is "
				       "already there and FAT does not tell upper from "
				       "lower case",
				       rel, x->names[i]);
	if (x->nnames == x->capnames) {
		size_t cap = x->capnames ? 2 * x->capnames : 64;
		char **n = mem_realloc(x->names, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		x->names = n;
		x->capnames = cap;
	}
	x->names[x->nnames] = mem_strdup(rel);
	if (!x->names[x->nnames])
		return -ENOMEM;
	x->nnames++;
	return 0;
}

void usb_progress(struct usb_ctx *x, uint64_t n)
{
	x->done += n;
	if (x->o && x->o->progress && x->total)
		x->o->progress(x->done < x->total ? x->done : x->total, x->total, x->o->ctx);
}

int usb_name_take(struct usb_ctx *x, const char *rel)
{
	int r = usb_fat_name_check(rel);

	return r < 0 ? r : collision(x, rel);
}

static int hash_fd(struct sha256 *out, int fd, uint8_t *buf)
{
	struct sha256_ctx *h;
	ssize_t n;
	int r = sha256_ctx_new(&h);

	if (r < 0)
		return r;
	while ((n = read(fd, buf, COPY_BUF)) > 0)
		sha256_ctx_update(h, buf, (size_t)n);
	sha256_ctx_final(h, out);
	sha256_ctx_free(h);
	return n < 0 ? -errno : 0;
}

int usb_hash_file(struct sha256 *out, const char *path, uint8_t *buf)
{
	AUTO_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	return hash_fd(out, fd, buf);
}

/* Streams src to a temporary beside dst, hashing; commits only if the hash
 * matches expect (when given). */
static int copy_new(struct usb_ctx *x, const char *src, int sfd, const char *dst,
		    const struct sha256 *expect, uint64_t *written)
{
	struct sha256_ctx *h = NULL;
	struct sha256 got;
	char *tmp = NULL;
	int fd = -1, r;
	ssize_t n;

	r = fs_mkdir_parents(dst, 0755);
	if (r >= 0)
		r = sha256_ctx_new(&h);
	if (r >= 0)
		r = fs_tmp_open(&fd, &tmp, dst);
	while (r >= 0 && (n = read(sfd, x->buf, COPY_BUF)) != 0) {
		if (n < 0) {
			r = err_set(-errno, "%s: %s", src, strerror(errno));
			break;
		}
		sha256_ctx_update(h, x->buf, (size_t)n);
		r = fs_write_all(fd, x->buf, (size_t)n);
		if (r < 0)
			r = err_keep(r, "%s: the stick is full or failed", dst);
		*written += (uint64_t)n;
		usb_progress(x, (uint64_t)n);
	}
	if (h)
		sha256_ctx_final(h, &got);
	sha256_ctx_free(h);
	if (r >= 0 && expect && memcmp(got.b, expect->b, SHA256_LEN) != 0)
		r = err_set(-EBADMSG,
			    "%s is damaged (its bytes do not match its name): "
			    "run ferry verify on the source",
			    src);
	if (r >= 0) {
		r = fs_tmp_commit(fd, tmp, dst);
		fd = -1;
	}
	if (fd >= 0)
		fs_tmp_abort(fd, tmp);
	mem_free(tmp);
	return r;
}

int usb_copy_file(struct usb_ctx *x, const char *rel, const char *src, const char *dst,
		  const struct sha256 *expect)
{
	AUTO_CLOSE int sfd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct sha256 have, want;
	struct stat ss, ds;
	uint64_t written = 0;
	int r;

	if (sfd < 0)
		return err_set(-errno, "%s: %s", src, strerror(errno));
	if (fstat(sfd, &ss) < 0 || !S_ISREG(ss.st_mode))
		return err_set(-EINVAL,
			       "%s is not a plain file: a USB export copies no links "
			       "or devices",
			       src);
	if ((uint64_t)ss.st_size > USB_FAT_FILE_MAX)
		return err_set(-EFBIG, "%s is 4 GiB or larger: a FAT32 stick cannot hold it", src);
	r = usb_name_take(x, rel);
	if (r < 0)
		return r;
	if (lstat(dst, &ds) == 0 && S_ISREG(ds.st_mode) && ds.st_size == ss.st_size) {
		r = usb_hash_file(&have, dst, x->buf);
		if (r == 0 && !expect) {
			r = hash_fd(&want, sfd, x->buf);
			expect = &want;
			if (r == 0 && lseek(sfd, 0, SEEK_SET) < 0)
				r = -errno;
		}
		if (r == 0 && memcmp(have.b, expect->b, SHA256_LEN) == 0) {
			x->res->bytes_kept += (uint64_t)ss.st_size;
			return 0;
		}
		if (r < 0)
			return err_set(r, "%s: %s", rel, strerror(-r));
	}
	r = copy_new(x, src, sfd, dst, expect, &written);
	x->res->bytes_written += written;
	return r;
}

/* ---- folders ------------------------------------------------------------ */

int usb_copy_tree(struct usb_ctx *x, const char *rel, const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *e;
	int r = 0;

	if (!d)
		return err_set(-errno, "%s: %s", src, strerror(errno));
	r = fs_mkdir_p(dst, 0755);
	while (r >= 0 && (e = readdir(d))) {
		AUTO_FREE char *s = NULL, *t = NULL, *rl = NULL;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strstr(e->d_name, ".tmp-"))
			continue;
		s = fs_join(src, e->d_name);
		t = fs_join(dst, e->d_name);
		rl = fs_join(rel, e->d_name);
		if (!s || !t || !rl) {
			r = -ENOMEM;
			break;
		}
		if (lstat(s, &st) < 0) {
			r = err_set(-errno, "%s: %s", s, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			r = usb_name_take(x, rl);
			if (r >= 0)
				r = usb_copy_tree(x, rl, s, t);
		} else if (S_ISREG(st.st_mode)) {
			r = usb_copy_file(x, rl, s, t, NULL);
		} else {
			r = err_set(-EINVAL,
				    "%s is a link or a device: a USB export copies only "
				    "plain files",
				    s);
		}
	}
	closedir(d);
	return r;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

int usb_remove_tree(const char *path)
{
	if (!fs_exists(path))
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

static int rm_tmp(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	if (flag == FTW_F && strstr(p + f->base, ".tmp-") && unlink(p) < 0)
		return -1;
	return 0;
}

int usb_tmp_sweep_tree(const char *dir)
{
	if (!fs_exists(dir))
		return 0;
	return nftw(dir, rm_tmp, 16, FTW_PHYS) < 0 ? err_set(-errno, "%s: %s", dir, strerror(errno))
						    : 0;
}

int usb_copy_git(struct usb_ctx *x, const char *src, const char *dst)
{
	AUTO_FREE char *tmp = mem_alloc(strlen(dst) + 16);
	AUTO_FREE char *old = mem_alloc(strlen(dst) + 16);
	AUTO_FREE char *sp = fs_join(src, "objects/pack");
	AUTO_FREE char *dp = fs_join(dst, "objects/pack");
	int r;

	if (!tmp || !old || !sp || !dp)
		return -ENOMEM;
	/* what an export by an earlier ferry (which swapped) may have left */
	sprintf(tmp, "%s.tmp-usb", dst);
	sprintf(old, "%s.old-usb", dst);
	r = usb_remove_tree(tmp);
	if (r >= 0)
		r = usb_remove_tree(old);
	/* a file a killed export was writing, anywhere in the repository */
	if (r >= 0 && fs_exists(dst) && nftw(dst, rm_tmp, 16, FTW_PHYS) < 0)
		r = -errno;
	if (r < 0)
		return err_set(r, "%s: cannot remove what an earlier export left", tmp);
	if (fs_exists(sp))
		r = usb_copy_tree(x, REPO_GIT_DIR_USB "/objects/pack", sp, dp);
	if (r >= 0)
		r = usb_copy_tree(x, REPO_GIT_DIR_USB, src, dst);
	if (r >= 0)
		r = fs_fsync_parent(dst);
	return r;
}
