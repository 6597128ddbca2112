/*
 * transport_file.c — a repository in a local folder: a USB stick's mount
 * point, a satellite drop folder, a LAN share, another school's store.
 *
 * The folder is hostile like any other source: a stick may carry symbolic
 * links that point into the school's own disk, FIFOs that would block a
 * reader forever, device nodes.  So every file is reached from the root's
 * descriptor one component at a time with openat(O_NOFOLLOW) — a symbolic
 * link anywhere on the way is refused, even one that points back inside —
 * and only regular files are read.  (The root itself is the user's own
 * choice and may be reached through links: /media/usb often is one.)
 *
 * Reads use pread, so several threads may read one file at once, in
 * pieces of TRANSPORT_PIECE_BYTES with the kernel told to read ahead; a
 * read then costs little more than the copy out of the page cache.  A pack
 * is read in many ranges one after the other, so the last few files opened
 * stay open (struct open_file): walking the path again for every range cost
 * four system calls each, and on a FUSE mount (exFAT sticks) every open()
 * also threw away the kernel's read-ahead for the file.  A file replaced on
 * the stick while it is open is still read from the open descriptor; what
 * is read is verified like every byte from a source.  Errors
 * a stick pulled out mid-read causes (EIO, ENODEV, ...) become -EIO with a
 * sentence a teacher can act on.
 */
#define _GNU_SOURCE
#include "sync/transport.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/limits.h"
#include "core/mem.h"

/* Files kept open between reads: a few, since reads come from the planner's
 * thread and the verify pool's, a pack or two at a time. */
#define OPEN_FILES 4

struct open_file {
	char *path;    /* relative to the root; NULL = slot free */
	int fd;
	unsigned refs; /* reads using fd now: the slot is not reused while > 0 */
	uint64_t used; /* the clock value of the last lookup, for eviction */
};

struct file_transport {
	struct transport base;
	int root;    /* the source folder, O_DIRECTORY */
	char *where; /* the folder as the user named it, for messages */
	pthread_mutex_t lock; /* guards open[] and clock */
	struct open_file open[OPEN_FILES];
	uint64_t clock;
};

static struct file_transport *file_of(struct transport *t)
{
	return (struct file_transport *)t;
}

/* A URL is "scheme://..." with scheme = ALPHA *(ALPHA / DIGIT / "+" / "-" / ".")
 * (RFC 3986 §3.1); anything else is a path. */
static bool has_scheme(const char *url)
{
	size_t i = 0;

	if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
		return false;
	while (url[i] &&
	       strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.", url[i]))
		i++;
	return strncmp(url + i, "://", 3) == 0;
}

static bool file_handles(const char *url)
{
	return strncmp(url, "file://", 7) == 0 || !has_scheme(url);
}

/* The local folder a URL names (caller frees *out). */
static int folder_of_url(char **out, const char *url)
{
	const char *p = url + 7, *slash;
	AUTO_FREE char *s = NULL;
	size_t n = 0;

	if (strncmp(url, "file://", 7) != 0) {
		if (!url[0])
			return err_set(-EINVAL, "an empty source path is refused");
		*out = mem_strdup(url);
		return *out ? 0 : -ENOMEM;
	}
	slash = strchr(p, '/');
	if (!slash)
		return err_set(-EINVAL, "%s: a file URL needs a folder (file:///path)", url);
	if (slash != p && !(slash - p == 9 && strncmp(p, "localhost", 9) == 0))
		return err_set(
		    -EINVAL,
		    "%s: only local folders can be read; mount the share and give its path", url);
	s = mem_alloc(strlen(slash) + 1);
	if (!s)
		return -ENOMEM;
	for (p = slash; *p; p++) {
		uint8_t c;

		if (*p != '%') {
			s[n++] = *p;
			continue;
		}
		if (strnlen(p + 1, 2) < 2 || hex_decode(&c, 1, p + 1, 2) < 0 || c == 0)
			return err_set(-EINVAL, "%s: bad %%-escape in a file URL", url);
		s[n++] = (char)c;
		p += 2;
	}
	s[n] = '\0';
	*out = TAKE_PTR(s);
	return 0;
}

/* Translates errno from reaching or reading path into ferry's codes, with a
 * detail that says what to do. */
static int file_error(struct file_transport *ft, int e, const char *path)
{
	struct transport *t = &ft->base;

	switch (e) {
	case ENOENT:
		return transport_fail(t, -ENOENT, "%s: no such file in %s", path, ft->where);
	case EACCES:
	case EPERM:
		return transport_fail(t, -EACCES, "%s in %s: permission denied", path, ft->where);
	case EIO:
	case ENXIO:
	case ENODEV:
	case ESTALE:
	case ENOTCONN:
		return transport_fail(t, -EIO,
				      "the USB stick or folder could not be read: %s in %s (%s); "
				      "check that it is still plugged in",
				      path, ft->where, strerror(e));
	case ENOMEM:
		return transport_fail(t, -ENOMEM, "%s in %s: out of memory", path, ft->where);
	default:
		return transport_fail(t, -e, "%s in %s: %s", path, ft->where, strerror(e));
	}
}

static int link_refused(struct file_transport *ft, const char *path, const char *name)
{
	return transport_fail(&ft->base, -ELOOP, "%s in %s: \"%s\" is a symbolic link; refused",
			      path, ft->where, name);
}

/* Opens one folder below dfd, refusing a link to one. */
static int open_dir_at(struct file_transport *ft, int dfd, const char *name, const char *path)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd >= 0)
		return fd;
	if (errno == ELOOP)
		return link_refused(ft, path, name);
	/* O_DIRECTORY wins over O_NOFOLLOW: a link to a folder says ENOTDIR. */
	if (errno == ENOTDIR && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return link_refused(ft, path, name);
		return transport_fail(&ft->base, -ENOENT, "%s in %s: %s is not a folder", path,
				      ft->where, name);
	}
	return file_error(ft, errno, path);
}

/*
 * Walks path from the root, one component at a time, and opens its last
 * component: a folder if want_dir, else a regular file.  path has passed
 * transport_path_check(); "" is the root.  Returns the descriptor.
 */
static int walk(struct file_transport *ft, const char *path, bool want_dir)
{
	char name[LIMIT_NAME_BYTES + 1];
	const char *p = path;
	AUTO_CLOSE int dfd = openat(ft->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	int fd;

	if (dfd < 0)
		return file_error(ft, errno, path[0] ? path : ".");
	if (!path[0])
		return TAKE_FD(dfd);
	for (;;) {
		size_t n = strcspn(p, "/");

		if (n == 0 || n > LIMIT_NAME_BYTES)
			return transport_fail(&ft->base, -EINVAL, "%s: bad path", path);
		memcpy(name, p, n);
		name[n] = '\0';
		if (!p[n] && !want_dir)
			break;
		fd = open_dir_at(ft, dfd, name, path);
		if (fd < 0)
			return fd;
		close(dfd);
		dfd = fd;
		if (!p[n])
			return TAKE_FD(dfd);
		p += n + 1;
	}
	/* The file: refuse what is not a regular file before opening it, so a
	 * FIFO or a device never sees an open(); O_NONBLOCK covers the race. */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return file_error(ft, errno, path);
	if (S_ISLNK(st.st_mode))
		return link_refused(ft, path, name);
	if (!S_ISREG(st.st_mode))
		return transport_fail(&ft->base, -EINVAL, "%s in %s is not a regular file; refused",
				      path, ft->where);
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		return link_refused(ft, path, name);
	if (fd < 0)
		return file_error(ft, errno, path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return transport_fail(&ft->base, -EINVAL, "%s in %s is not a regular file; refused",
				      path, ft->where);
	}
	return fd;
}

/* A descriptor for the regular file at path, from the open files or newly
 * walked to (then kept, evicting the least recently used idle slot).  Give
 * it back with file_put().  Returns the descriptor or a negative code. */
static int file_get(struct file_transport *ft, const char *path)
{
	struct open_file *victim = NULL;
	char *copy;
	int fd;

	pthread_mutex_lock(&ft->lock);
	for (size_t i = 0; i < OPEN_FILES; i++) {
		struct open_file *f = &ft->open[i];

		if (f->path && strcmp(f->path, path) == 0) {
			f->refs++;
			f->used = ++ft->clock;
			pthread_mutex_unlock(&ft->lock);
			return f->fd;
		}
	}
	pthread_mutex_unlock(&ft->lock);
	fd = walk(ft, path, false);
	if (fd < 0)
		return fd;
	copy = mem_strdup(path);
	pthread_mutex_lock(&ft->lock);
	for (size_t i = 0; copy && i < OPEN_FILES; i++) {
		struct open_file *f = &ft->open[i];

		if (f->refs == 0 && (!victim || !f->path || (victim->path && f->used < victim->used)))
			victim = f;
	}
	if (victim) {
		if (victim->path) {
			close(victim->fd);
			mem_free(victim->path);
		}
		*victim = (struct open_file){
		    .path = TAKE_PTR(copy), .fd = fd, .refs = 1, .used = ++ft->clock};
	}
	pthread_mutex_unlock(&ft->lock);
	/* Every slot busy (or no memory for the name): fd is the caller's own,
	 * and file_put() closes it. */
	mem_free(copy);
	return fd;
}

static void file_put(struct file_transport *ft, int fd)
{
	pthread_mutex_lock(&ft->lock);
	for (size_t i = 0; i < OPEN_FILES; i++) {
		struct open_file *f = &ft->open[i];

		if (f->path && f->fd == fd && f->refs > 0) {
			f->refs--;
			pthread_mutex_unlock(&ft->lock);
			return;
		}
	}
	pthread_mutex_unlock(&ft->lock);
	close(fd);
}

static int file_open(struct transport **out, const char *url, const struct transport_opts *o)
{
	AUTO_FREE char *where = NULL;
	AUTO_CLOSE int root = -1;
	struct file_transport *ft;
	int r = folder_of_url(&where, url);

	if (r < 0)
		return r;
	root = open(where, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		if (errno == ENOENT)
			return err_set(-ENOENT, "%s: no such folder (is the USB stick plugged in?)",
				       where);
		if (errno == ENOTDIR)
			return err_set(-ENOTDIR, "%s is not a folder", where);
		if (errno == EIO || errno == ENXIO || errno == ENODEV)
			return err_set(-EIO, "the USB stick or folder could not be read: %s (%s)",
				       where, strerror(errno));
		return err_set(-errno, "%s: %s", where, strerror(errno));
	}
	ft = mem_calloc(1, sizeof(*ft));
	if (!ft)
		return -ENOMEM;
	ft->base.ops = &transport_file_ops;
	ft->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	ft->root = TAKE_FD(root);
	ft->where = TAKE_PTR(where);
	*out = &ft->base;
	return 0;
}

static void file_close(struct transport *t)
{
	struct file_transport *ft = file_of(t);

	for (size_t i = 0; i < OPEN_FILES; i++)
		if (ft->open[i].path) {
			close(ft->open[i].fd);
			mem_free(ft->open[i].path);
		}
	pthread_mutex_destroy(&ft->lock);
	close(ft->root);
	mem_free(ft->where);
	mem_free(ft);
}

static int file_size(struct transport *t, const char *path, uint64_t *out)
{
	struct file_transport *ft = file_of(t);
	int fd = file_get(ft, path), r = 0;
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		r = file_error(ft, errno, path);
	else
		*out = (uint64_t)st.st_size;
	file_put(ft, fd);
	return r;
}

/* file_read() on an open descriptor. */
static int read_fd(struct file_transport *ft, int fd, const char *path, uint64_t off,
		   uint64_t len, transport_sink_fn sink, void *ctx)
{
	struct transport *t = &ft->base;
	size_t piece = len < TRANSPORT_PIECE_BYTES ? (size_t)len : TRANSPORT_PIECE_BYTES;
	AUTO_FREE uint8_t *b = NULL;
	uint64_t done = 0;

	if (len == 0)
		return 0;
	/* No file reaches past INT64_MAX, so pread offsets stay below it. */
	if (off > (uint64_t)INT64_MAX)
		return transport_fail(t, -EBADMSG, "%s in %s ends before byte %llu", path,
				      ft->where, (unsigned long long)off);
	b = mem_alloc(piece);
	if (!b)
		return -ENOMEM;
	/* Advice only: a file system that ignores it reads as well. */
	(void)posix_fadvise(fd, (off_t)off, len > (uint64_t)INT64_MAX - off ? 0 : (off_t)len,
			    POSIX_FADV_SEQUENTIAL);
	while (done < len) {
		size_t want = len - done < piece ? (size_t)(len - done) : piece;
		ssize_t got = pread(fd, b, want, (off_t)(off + done));
		int r;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return file_error(ft, errno, path);
		if (got == 0)
			return transport_fail(
			    t, -EBADMSG, "%s in %s ends at byte %llu, before the %llu asked for",
			    path, ft->where, (unsigned long long)(off + done),
			    (unsigned long long)(off + len));
		r = sink(b, (size_t)got, ctx);
		if (r < 0)
			return r;
		done += (uint64_t)got;
	}
	return 0;
}

static int file_read(struct transport *t, const char *path, uint64_t off, uint64_t len,
		     transport_sink_fn sink, void *ctx)
{
	struct file_transport *ft = file_of(t);
	int fd = file_get(ft, path), r;

	if (fd < 0)
		return fd;
	r = read_fd(ft, fd, path, off, len, sink, ctx);
	file_put(ft, fd);
	return r;
}

static int file_list(struct transport *t, const char *dir, int (*fn)(const char *name, void *ctx),
		     void *ctx)
{
	struct file_transport *ft = file_of(t);
	int fd = walk(ft, dir, true);
	struct dirent *e;
	DIR *d;
	int r = 0;

	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return file_error(ft, errno, dir[0] ? dir : ".");
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				r = file_error(ft, errno, dir[0] ? dir : ".");
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		r = fn(e->d_name, ctx);
		if (r < 0)
			break;
	}
	closedir(d);
	return r < 0 ? r : 0;
}

const struct transport_ops transport_file_ops = {
    .version = TRANSPORT_OPS_VERSION,
    .name = "file",
    .handles = file_handles,
    .open = file_open,
    .close = file_close,
    .size = file_size,
    .read = file_read,
    .list = file_list,
};
