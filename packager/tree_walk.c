/*
 * tree_walk.c — deterministic, non-following folder walk (see tree_walk.h).
 */
#define _GNU_SOURCE
#include "packager/tree_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/mem.h"

static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		int n = *s < 0x80 ? 0 : (*s & 0xe0) == 0xc0 ? 1 : (*s & 0xf0) == 0xe0 ? 2
			: (*s & 0xf8) == 0xf0 ? 3 : -1;

		if (n < 0 || (n == 1 && *s < 0xc2))
			return false;
		s++;
		for (int i = 0; i < n; i++, s++)
			if ((*s & 0xc0) != 0x80)
				return false;
	}
	return true;
}

int tree_name_check(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > LIMIT_NAME_BYTES || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return err_set(-EINVAL, "\"%s\": not a usable name", name);
	for (const unsigned char *s = (const unsigned char *)name; *s; s++)
		if (*s < 0x20 || *s == 0x7f || *s == '/' || *s == '\\')
			return err_set(-EINVAL, "\"%s\": name holds a control character or slash",
				       name);
	if (!utf8_valid((const unsigned char *)name))
		return err_set(-EINVAL, "\"%s\": name is not valid UTF-8", name);
	return 0;
}

static int by_bytes(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mem_free(names[i]);
	mem_free(names);
}

/* Reads and sorts the names in a directory (without . and ..). */
static int list_dir(char ***out, size_t *count, int fd, const char *path)
{
	int dup_fd = dup(fd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return err_set(-errno, "%s: cannot list: %s", path[0] ? path : ".", strerror(errno));
	}
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **g = mem_realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));

			if (!g)
				goto nomem;
			names = g;
		}
		names[n] = mem_strdup(e->d_name);
		if (!names[n])
			goto nomem;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_bytes);
	*out = names;
	*count = n;
	return 0;
nomem:
	closedir(d);
	free_names(names, n);
	return -ENOMEM;
}

static int walk_dir(int fd, struct buf *path, unsigned depth, const struct tree_walk_ops *ops,
		    void *ctx);

static int visit(int dirfd, const char *name, struct buf *path, unsigned depth,
		 const struct tree_walk_ops *ops, void *ctx)
{
	size_t keep = path->len;
	struct stat st;
	int r;

	if (path->len)
		r = buf_append_byte(path, '/');
	else
		r = 0;
	if (r == 0)
		r = buf_append_str(path, name);
	if (r < 0)
		return r == -EFBIG ? ops->skip(buf_str(path), "path too long", ctx) : r;
	if (tree_name_check(name) < 0) {
		r = ops->skip(buf_str(path), err_detail(), ctx);
	} else if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = ops->skip(buf_str(path), strerror(errno), ctx);
	} else if (S_ISREG(st.st_mode)) {
		r = ops->file(dirfd, name, buf_str(path), (uint64_t)st.st_size, ctx);
	} else if (S_ISDIR(st.st_mode)) {
		int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (sub < 0) {
			r = ops->skip(buf_str(path), strerror(errno), ctx);
		} else if (depth + 1 > LIMIT_PATH_DEPTH) {
			close(sub);
			r = ops->skip(buf_str(path), "folders nested too deeply", ctx);
		} else {
			r = walk_dir(sub, path, depth + 1, ops, ctx);
			close(sub);
		}
	} else {
		r = ops->skip(buf_str(path), S_ISLNK(st.st_mode)   ? "symbolic link"
					     : S_ISSOCK(st.st_mode) ? "socket"
					     : S_ISFIFO(st.st_mode) ? "named pipe"
								    : "device file",
			      ctx);
	}
	path->len = keep;
	path->data[keep] = 0;
	return r;
}

static int walk_dir(int fd, struct buf *path, unsigned depth, const struct tree_walk_ops *ops,
		    void *ctx)
{
	char **names = NULL;
	size_t n = 0;
	int r = list_dir(&names, &n, fd, buf_str(path));

	if (r < 0)
		return depth == 0 ? r : ops->skip(buf_str(path), err_detail(), ctx);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = visit(fd, names[i], path, depth, ops, ctx);
	free_names(names, n);
	return r < 0 ? r : 0;
}

int tree_walk(const char *root, const struct tree_walk_ops *ops, void *ctx)
{
	AUTO_CLOSE int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct buf path;
	int r;

	if (fd < 0)
		return err_set(-errno, "%s: %s", root, strerror(errno));
	buf_init(&path, LIMIT_PATH_BYTES);
	r = buf_reserve(&path, 256);
	if (r == 0)
		r = walk_dir(fd, &path, 0, ops, ctx);
	buf_release(&path);
	return r;
}
