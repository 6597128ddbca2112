/*
 * fsx.h — file-system helpers that make ferry crash-safe.
 *
 * The one rule for anything durable: write to a temporary name in the same
 * directory, fsync it, rename it over the final name, fsync the directory.
 * fs_write_atomic() does all four; fs_tmp_open()/fs_tmp_commit() split it
 * for writers that stream (packs).  A crash at any point leaves either the
 * old file or the new one, plus at worst a stray "*.tmp-*" that
 * fs_tmp_sweep() removes.
 *
 * Reads of files from outside (sticks, mirrors) are bounded: fs_read_file()
 * refuses a file larger than the caller's limit with -EFBIG.
 */
#ifndef FERRY_CORE_FSX_H
#define FERRY_CORE_FSX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/err.h"

/* Reads a whole file into out (appending), at most max bytes. */
int fs_read_file(struct buf *out, const char *path, size_t max) FERRY_MUST_USE;
int fs_write_atomic(const char *path, const void *p, size_t n) FERRY_MUST_USE;
int fs_fsync_dir(const char *dir) FERRY_MUST_USE;
/* Like fs_fsync_dir() on the directory holding path. */
int fs_fsync_parent(const char *path) FERRY_MUST_USE;
int fs_mkdir_p(const char *path, mode_t mode) FERRY_MUST_USE;
/* Creates root and each of dirs[0..n) under it. */
int fs_mkdirs_under(const char *root, const char *const *dirs, size_t n) FERRY_MUST_USE;
/* Creates the directories leading to path (not path itself). */
int fs_mkdir_parents(const char *path, mode_t mode) FERRY_MUST_USE;
bool fs_exists(const char *path);
int fs_file_size(uint64_t *out, const char *path) FERRY_MUST_USE;

/* Opens a fresh temporary file beside final_path; *tmp_out receives its
 * name (caller frees).  fs_tmp_commit() fsyncs, closes, renames and
 * fsyncs the directory; fs_tmp_abort() closes and unlinks. */
int fs_tmp_open(int *fd_out, char **tmp_out, const char *final_path) FERRY_MUST_USE;
int fs_tmp_commit(int fd, const char *tmp, const char *final_path) FERRY_MUST_USE;
void fs_tmp_abort(int fd, const char *tmp);
/* Removes leftover temporaries in dir (not recursive). */
int fs_tmp_sweep(const char *dir) FERRY_MUST_USE;

/* Takes an exclusive advisory lock on path (created if needed).  With
 * wait false a held lock fails at once with -EWOULDBLOCK.  Release by
 * closing *fd_out. */
int fs_lock(int *fd_out, const char *path, bool wait) FERRY_MUST_USE;

/* Full read/write loops that retry on EINTR and short transfers. */
int fs_write_all(int fd, const void *p, size_t n) FERRY_MUST_USE;
int fs_pread_all(int fd, void *p, size_t n, uint64_t off) FERRY_MUST_USE;

/* Joins a and b with one '/'; caller frees.  NULL on allocation failure. */
char *fs_join(const char *a, const char *b);

#endif
