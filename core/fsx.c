/*
 * fsx.c — durable writes, bounded reads, locks (see fsx.h).
 */
#define _GNU_SOURCE
#include "core/fsx.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/mem.h"

#define TMP_MARK ".tmp-"

int fs_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;

	while (n) {
		ssize_t w = write(fd, q, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

int fs_pread_all(int fd, void *p, size_t n, uint64_t off)
{
	uint8_t *q = p;

	while (n) {
		ssize_t r = pread(fd, q, n, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return err_set(-EBADMSG, "file ends early");
		q += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int fs_read_file(struct buf *out, const char *path, size_t max)
{
	AUTO_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t start = out->len;
	struct stat st;
	int r;

	if (fd < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return err_set(-EINVAL, "%s: not a regular file", path);
	if ((uint64_t)st.st_size > max)
		return err_set(-EFBIG, "%s: %lld bytes, more than the limit of %zu", path,
			       (long long)st.st_size, max);
	/* Room for the size stat reports; a file that grows meanwhile is read
	 * on in steps, never past max (one probe byte detects the excess). */
	r = buf_reserve(out, (size_t)st.st_size);
	if (r < 0)
		return r;
	for (;;) {
		size_t got = out->len - start, room = out->cap - out->len - 1;
		uint8_t probe;
		ssize_t n;

		if (room == 0 && got == max) {
			n = read(fd, &probe, 1);
			if (n > 0)
				return err_set(-EFBIG, "%s: grew past the limit of %zu bytes", path, max);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return err_set(-errno, "%s: %s", path, strerror(errno));
			break;
		}
		if (room == 0) {
			r = buf_reserve(out, max - got < 65536 ? max - got : 65536);
			if (r < 0)
				return r;
			room = out->cap - out->len - 1;
		}
		n = read(fd, out->data + out->len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(-errno, "%s: %s", path, strerror(errno));
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = 0;
	}
	return 0;
}

char *fs_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	bool slash = la && a[la - 1] != '/';
	char *s = mem_alloc(la + slash + lb + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	if (slash)
		s[la] = '/';
	memcpy(s + la + slash, b, lb + 1);
	return s;
}

int fs_fsync_dir(const char *dir)
{
	AUTO_CLOSE int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

int fs_fsync_parent(const char *path)
{
	AUTO_FREE char *d = mem_strdup(path);
	char *slash;

	if (!d)
		return -ENOMEM;
	slash = strrchr(d, '/');
	if (!slash)
		return fs_fsync_dir(".");
	if (slash == d)
		slash[1] = '\0';
	else
		*slash = '\0';
	return fs_fsync_dir(d);
}

int fs_mkdir_p(const char *path, mode_t mode)
{
	AUTO_FREE char *p = mem_strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return err_set(-errno, "%s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return err_set(-errno, "%s: %s", p, strerror(errno));
	return 0;
}

int fs_mkdirs_under(const char *root, const char *const *dirs, size_t n)
{
	int r = fs_mkdir_p(root, 0755);

	for (size_t i = 0; r == 0 && i < n; i++) {
		AUTO_FREE char *p = fs_join(root, dirs[i]);

		r = p ? fs_mkdir_p(p, 0755) : -ENOMEM;
	}
	return r;
}

int fs_mkdir_parents(const char *path, mode_t mode)
{
	AUTO_FREE char *p = mem_strdup(path);
	char *slash;

	if (!p)
		return -ENOMEM;
	slash = strrchr(p, '/');
	if (!slash || slash == p)
		return 0;
	*slash = '\0';
	return fs_mkdir_p(p, mode);
}

bool fs_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int fs_file_size(uint64_t *out, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*out = (uint64_t)st.st_size;
	return 0;
}

int fs_tmp_open(int *fd_out, char **tmp_out, const char *final_path)
{
	uint8_t rnd[6];
	char *tmp;
	size_t n = strlen(final_path) + 32;
	int fd, r;

	r = crypto_random(rnd, sizeof(rnd));
	if (r < 0)
		return r;
	tmp = mem_alloc(n);
	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, n, "%s" TMP_MARK "%02x%02x%02x%02x%02x%02x", final_path, rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5]);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = err_set(-errno, "%s: %s", tmp, strerror(errno));
		mem_free(tmp);
		return r;
	}
	*fd_out = fd;
	*tmp_out = tmp;
	return 0;
}

int fs_tmp_commit(int fd, const char *tmp, const char *final_path)
{
	int r = 0;

	if (fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, final_path) < 0)
		r = err_set(-errno, "%s: %s", final_path, strerror(errno));
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	return fs_fsync_parent(final_path);
}

void fs_tmp_abort(int fd, const char *tmp)
{
	if (fd >= 0)
		(void)close(fd);
	if (tmp)
		(void)unlink(tmp);
}

int fs_write_atomic(const char *path, const void *p, size_t n)
{
	AUTO_FREE char *tmp = NULL;
	int fd, r;

	r = fs_tmp_open(&fd, &tmp, path);
	if (r < 0)
		return r;
	r = fs_write_all(fd, p, n);
	if (r < 0) {
		fs_tmp_abort(fd, tmp);
		return err_set(r, "%s: %s", path, strerror(-r));
	}
	return fs_tmp_commit(fd, tmp, path);
}

int fs_tmp_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (strstr(e->d_name, TMP_MARK))
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	return 0;
}

int fs_lock(int *fd_out, const char *path, bool wait)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		int e = errno;

		if (e == EINTR)
			continue;
		(void)close(fd);
		return e == EWOULDBLOCK ? -EWOULDBLOCK : -e;
	}
	*fd_out = fd;
	return 0;
}
