/*
 * git_libgit2.c — the libgit2 adapter: the manifest repository's objects,
 * packs and refs (the API is manifests/mgit.h; git_libgit2_int.h lists the
 * files that share the work).
 *
 * This is the only file in ferry that includes libgit2.  Every libgit2
 * failure leaves here as a negative errno plus one err_set() line
 * (lg_err()).
 *
 * Writing.  The repository's object database is assembled by hand: the
 * pack backend (objects/pack) at low priority and libgit2's mempack backend
 * at high priority, and no loose-object backend at all, so nothing can
 * ever be written loose.  New objects are hashed here and handed straight
 * to the mempack backend (after a lookup that skips objects already
 * packed); going through git_odb_write() instead would rescan objects/pack
 * once per new object.  Their IDs are remembered in write order (the
 * "pending" set).
 *
 * Flushing.  The pending objects are written as one pack stream (zlib per
 * object, SHA-1 trailer) straight into a git_indexer working in a private
 * directory objects/incoming-*; the finished .pack and .idx are fsynced,
 * renamed into objects/pack (pack first, so an index never names a
 * missing pack) and the directory fsynced; only then is the mempack reset.
 * Neither git_mempack_dump() (it packs what the new commits reach: every
 * unchanged blob again, and nothing unreachable) nor git_packbuilder (a
 * 1 MiB buffer and a delta search per object: 3x slower, 10x under ASan,
 * for no smaller pack) is used; docs/manifests-git.md has the numbers.
 *
 * Importing.  A pack from outside goes through the same indexer, which
 * hashes every object and checks the pack checksum, then a completeness
 * check with ferry's strict parsers, then the same installation.
 *
 * Stock git must be able to clone the directory, from a folder or as dumb
 * HTTP: info/refs and objects/info/packs are regenerated here (libgit2 has
 * no update-server-info), HEAD is pointed at the first branch, and refs are
 * written with fsync (GIT_OPT_ENABLE_FSYNC_GITDIR).
 */
#define _GNU_SOURCE
#include "manifests/mgit.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>
#include <zlib.h>

#include "core/bytes.h"
#include "core/codec_text.h"
#include "core/crypto.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/git_libgit2_int.h"

#define MEMPACK_PRIORITY 999
#define PACK_PRIORITY 1
#define IO_BLOCK (64u << 10)
/* libgit2 keeps parsed objects in a process-wide cache; keep it small, a
 * school box has little memory. */
#define LG_CACHE_BYTES (16 << 20)
/* libgit2 reads packs through mmap'd windows (by default up to 1 GiB each
 * and 8 GiB in all) whose touched pages count in the process's RSS: a sync
 * reading every pointer of a million-chunk release touched ~40 MiB of
 * manifest pack.  Small windows, few mapped at once. */
#define LG_MWINDOW_BYTES (1u << 20)
#define LG_MWINDOW_MAPPED_BYTES (8u << 20)

/* ---- errors and the library's global state ---------------------------- */

static int lg_code(int code, int klass)
{
	switch (code) {
	case GIT_ENOTFOUND:
		return -ENOENT;
	case GIT_EEXISTS:
		return -EEXIST;
	case GIT_EMISMATCH:
		return -EBADMSG;
	case GIT_EMODIFIED:
	case GIT_ELOCKED:
		return -EAGAIN;
	case GIT_EINVALIDSPEC:
	case GIT_EINVALID:
	case GIT_EAMBIGUOUS:
		return -EINVAL;
	case GIT_EOWNER:
		return -EACCES;
	case GIT_EBUFS:
		return -ENOBUFS;
	default:
		break;
	}
	switch (klass) {
	case GIT_ERROR_NOMEMORY:
		return -ENOMEM;
	case GIT_ERROR_ZLIB:
	case GIT_ERROR_INDEXER:
	case GIT_ERROR_OBJECT:
	case GIT_ERROR_ODB:
	case GIT_ERROR_TREE:
	case GIT_ERROR_SHA:
	case GIT_ERROR_REFERENCE:
	case GIT_ERROR_CONFIG:
		return -EBADMSG;
	case GIT_ERROR_INVALID:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Translates a libgit2 failure and records "what: libgit2's message". */
static int lg_err(int code, const char *what)
{
	const git_error *e = git_error_last();
	int r = lg_code(code, e ? e->klass : GIT_ERROR_NONE);

	err_set(r, "%s: %s", what, e && e->message ? e->message : "libgit2 failed");
	git_error_clear();
	return r;
}

/*
 * libgit2 is initialized once per process and left initialized: its global
 * init cannot be retried after a partial failure (a second attempt spins in
 * its entropy setup), and tearing it down when the last handle closes buys
 * nothing.  It gets fsync of refs, strict hash checks on every read,
 * bounds for packs from outside, a small object cache, and no global or
 * system git config (a user's ~/.gitconfig must not change what ferry
 * writes).
 *
 * libgit2 keeps its own allocator.  Routed through mem_alloc() with
 * failure injection, libgit2 1.5 crashed inside git_repository_open_bare()
 * (a NULL dereference after a failed allocation), so injected failures are
 * kept to ferry's own allocations (and zlib's, which copes).
 */
static pthread_once_t lg_once = PTHREAD_ONCE_INIT;
static int lg_ready;

static void lg_init_once(void)
{
	static const int levels[] = {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG,
				     GIT_CONFIG_LEVEL_GLOBAL, GIT_CONFIG_LEVEL_PROGRAMDATA};
	int r = git_libgit2_init();

	if (r < 0) {
		lg_ready = err_set(-EIO, "libgit2 could not initialize");
		return;
	}
	r = git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	if (r >= 0)
		r = git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 1);
	if (r >= 0)
		r = git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 1);
	if (r >= 0)
		r = git_libgit2_opts(GIT_OPT_SET_PACK_MAX_OBJECTS, (size_t)LIMIT_GIT_PACK_OBJECTS);
	if (r >= 0)
		r = git_libgit2_opts(GIT_OPT_SET_PACK_MAX_OBJECT_SIZE,
				     (size_t)LIMIT_GIT_OBJECT_BYTES);
	if (r >= 0)
		r = git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)LG_CACHE_BYTES);
	if (r >= 0)
		r = git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)LG_MWINDOW_BYTES);
	if (r >= 0)
		r = git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
				     (size_t)LG_MWINDOW_MAPPED_BYTES);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(levels); i++)
		r = git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i], "");
	lg_ready = r < 0 ? lg_err(r, "libgit2 options") : 0;
}

static int lg_setup(void)
{
	pthread_once(&lg_once, lg_init_once);
	return lg_ready < 0 ? err_set(lg_ready, "libgit2 could not be set up") : 0;
}

/* ---- object IDs ------------------------------------------------------- */

void mgit_oid_fmt(char out[MGIT_OID_HEX + 1], const struct mgit_oid *id)
{
	hex_encode(out, id->id, MGIT_OID_LEN);
}

int mgit_oid_parse(struct mgit_oid *out, const char *s)
{
	size_t n = strnlen(s, MGIT_OID_HEX + 1);

	if (n != MGIT_OID_HEX || hex_decode(out->id, MGIT_OID_LEN, s, n) < 0)
		return err_set(-EBADMSG, "not a 40-digit object ID: \"%.48s\"", s);
	return 0;
}

static void oid_to_git(git_oid *out, const struct mgit_oid *id)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id, id->id, MGIT_OID_LEN);
}

static void oid_from_git(struct mgit_oid *out, const git_oid *id)
{
	memcpy(out->id, id->id, MGIT_OID_LEN);
}

/* ---- opening ---------------------------------------------------------- */

/* objects/pack behind the mempack, and nothing else: no loose backend, so
 * libgit2 has nowhere to write a loose object. */
static int odb_assemble(struct mgit *g)
{
	git_odb_backend *pack = NULL;
	int r = git_odb_new(&g->odb);

	if (r >= 0 && (r = git_odb_backend_pack(&pack, g->objdir)) >= 0) {
		r = git_odb_add_backend(g->odb, pack, PACK_PRIORITY);
		if (r < 0)
			pack->free(pack);
	}
	if (r >= 0 && (r = git_mempack_new(&g->mempack)) >= 0) {
		r = git_odb_add_backend(g->odb, g->mempack, MEMPACK_PRIORITY);
		if (r < 0)
			g->mempack->free(g->mempack);
	}
	if (r >= 0)
		r = git_repository_set_odb(g->repo, g->odb);
	return r < 0 ? lg_err(r, g->gitdir) : 0;
}

static int dir_state(bool *empty, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	*empty = true;
	if (!d)
		return errno == ENOENT ? 0 : err_set(-errno, "%s: %s", path, strerror(errno));
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			*empty = false;
			break;
		}
	}
	closedir(d);
	return 0;
}

/* Settings for a new repository: stock git must never repack it on its
 * own (gc.auto, gc.autoPackLimit), since mirrors and schools fetch packs by
 * name. */
static int repo_configure(struct mgit *g)
{
	git_config *cfg = NULL;
	int r = git_repository_config(&cfg, g->repo);

	if (r >= 0)
		r = git_config_set_int32(cfg, "gc.auto", 0);
	if (r >= 0)
		r = git_config_set_int32(cfg, "gc.autoPackLimit", 0);
	git_config_free(cfg);
	return r < 0 ? lg_err(r, g->gitdir) : 0;
}

static int repo_create(struct mgit *g)
{
	bool empty;
	int r = dir_state(&empty, g->gitdir);

	if (r < 0)
		return r;
	if (!empty)
		return err_set(-EEXIST, "%s: not empty and not a bare git repository", g->gitdir);
	r = git_repository_init(&g->repo, g->gitdir, 1);
	if (r < 0)
		return lg_err(r, g->gitdir);
	return repo_configure(g);
}

static int handle_paths(struct mgit *g, const char *gitdir)
{
	size_t n = strlen(gitdir);

	while (n > 1 && gitdir[n - 1] == '/')
		n--;
	g->gitdir = mem_strndup(gitdir, n);
	g->objdir = g->gitdir ? fs_join(g->gitdir, "objects") : NULL;
	g->packdir = g->objdir ? fs_join(g->objdir, "pack") : NULL;
	return g->packdir ? 0 : -ENOMEM;
}

static int repo_open(struct mgit **out, const char *gitdir, bool create)
{
	struct mgit *g;
	bool fresh = false;
	int r = lg_setup();

	if (r < 0)
		return r;
	g = mem_calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	mgit_oidset_init(&g->pending);
	r = handle_paths(g, gitdir);
	if (r >= 0) {
		r = git_repository_open_bare(&g->repo, g->gitdir);
		if (r == GIT_ENOTFOUND && create) {
			git_error_clear();
			fresh = true;
			r = repo_create(g);
		} else if (r < 0) {
			r = lg_err(r, g->gitdir);
		}
	}
	if (r >= 0)
		r = odb_assemble(g);
	if (r >= 0 && fresh)
		r = mgit_server_info_update(g);
	if (r < 0) {
		mgit_free(g);
		return r;
	}
	*out = g;
	return 0;
}

int mgit_init(struct mgit **out, const char *gitdir)
{
	return repo_open(out, gitdir, true);
}

int mgit_open(struct mgit **out, const char *gitdir)
{
	return repo_open(out, gitdir, false);
}

void mgit_free(struct mgit *g)
{
	if (!g)
		return;
	git_odb_free(g->odb);
	git_repository_free(g->repo);
	mgit_oidset_release(&g->pending);
	mem_free(g->gitdir);
	mem_free(g->objdir);
	mem_free(g->packdir);
	mem_free(g);
}

size_t mgit_pending(const struct mgit *g)
{
	return g->pending.count;
}

/* ---- objects ---------------------------------------------------------- */

static const char *kind_name(git_object_t t)
{
	const char *s = git_object_type2string(t);

	return s && s[0] ? s : "unknown object";
}

int mgit_obj_write(struct mgit_oid *out, struct mgit *g, enum mgit_kind kind, const void *p,
		   size_t n)
{
	static const char nothing;
	git_oid id;
	int r;

	if (n > LIMIT_GIT_OBJECT_BYTES)
		return err_set(-EFBIG, "object of %zu bytes, more than %u", n,
			       LIMIT_GIT_OBJECT_BYTES);
	if (!p)
		p = &nothing;
	r = git_odb_hash(&id, p, n, (git_object_t)kind);
	if (r < 0)
		return lg_err(r, "hashing an object");
	oid_from_git(out, &id);
	if (mgit_oidset_has(&g->pending, out) ||
	    git_odb_exists_ext(g->odb, &id, GIT_ODB_LOOKUP_NO_REFRESH))
		return 0;
	/* Room in the pending set first: an object in the mempack that the
	 * set does not know of would be missing from the next pack. */
	r = mgit_oidset_reserve(&g->pending);
	if (r < 0)
		return r;
	r = g->mempack->write(g->mempack, &id, p, n, (git_object_t)kind);
	if (r < 0)
		return lg_err(r, "storing an object");
	return mgit_oidset_add(&g->pending, out) < 0 ? -ENOMEM : 0;
}

bool mgit_obj_exists(struct mgit *g, const struct mgit_oid *id)
{
	git_oid gid;

	if (mgit_oidset_has(&g->pending, id))
		return true;
	oid_to_git(&gid, id);
	return git_odb_exists(g->odb, &gid) == 1;
}

/* Type and size of an object without reading it. */
static int obj_header(git_object_t *type, size_t *size, struct mgit *g, const struct mgit_oid *id)
{
	char hex[MGIT_OID_HEX + 1], what[MGIT_OID_HEX + 16];
	git_oid gid;
	int r;

	oid_to_git(&gid, id);
	r = git_odb_read_header(size, type, g->odb, &gid);
	if (r < 0) {
		mgit_oid_fmt(hex, id);
		snprintf(what, sizeof(what), "object %s", hex);
		return lg_err(r, what);
	}
	return 0;
}

int mgit_obj_stat(enum mgit_kind *kind, size_t *size, struct mgit *g, const struct mgit_oid *id)
{
	git_object_t type = GIT_OBJECT_INVALID;
	int r = obj_header(&type, size, g, id);

	if (r >= 0)
		*kind = (enum mgit_kind)type;
	return r;
}

int mgit_odb_refresh(struct mgit *g)
{
	int r = git_odb_refresh(g->odb);

	return r < 0 ? lg_err(r, "rescanning objects/pack") : 0;
}

int mgit_obj_read(struct buf *out, struct mgit *g, const struct mgit_oid *id, enum mgit_kind kind,
		  size_t max)
{
	char hex[MGIT_OID_HEX + 1];
	git_odb_object *obj = NULL;
	git_object_t type;
	size_t size;
	git_oid gid;
	int r = obj_header(&type, &size, g, id);

	if (r < 0)
		return r;
	mgit_oid_fmt(hex, id);
	if (type != (git_object_t)kind)
		return err_set(-EBADMSG, "object %s is a %s, not a %s", hex, kind_name(type),
			       kind_name((git_object_t)kind));
	if (size > max)
		return err_set(-EFBIG, "%s %s has %zu bytes, more than %zu", kind_name(type), hex,
			       size, max);
	oid_to_git(&gid, id);
	r = git_odb_read(&obj, g->odb, &gid);
	if (r < 0)
		return lg_err(r, hex);
	if (git_odb_object_type(obj) != type || git_odb_object_size(obj) != size)
		r = err_set(-EBADMSG, "object %s: header and contents disagree", hex);
	else
		r = buf_append(out, git_odb_object_data(obj), size);
	git_odb_object_free(obj);
	return r;
}

int mgit_blob_write(struct mgit_oid *out, struct mgit *g, const void *p, size_t n)
{
	return mgit_obj_write(out, g, MGIT_KIND_BLOB, p, n);
}

int mgit_blob_read(struct buf *out, struct mgit *g, const struct mgit_oid *id, size_t max)
{
	return mgit_obj_read(out, g, id, MGIT_KIND_BLOB, max);
}

bool mgit_object_exists(struct mgit *g, const struct mgit_oid *id)
{
	return mgit_obj_exists(g, id);
}

/* ---- object kinds ---- */

int mgit_obj_expect(struct mgit *g, const struct mgit_oid *id, enum mgit_kind want,
		    const char *role)
{
	char hex[MGIT_OID_HEX + 1];
	git_object_t type;
	size_t size;
	int r = obj_header(&type, &size, g, id);

	if (r < 0)
		return mgit_err_wrap(r, "%s", role);
	if (type != (git_object_t)want) {
		mgit_oid_fmt(hex, id);
		return err_set(-EINVAL, "%s %s is a %s", role, hex, kind_name(type));
	}
	return 0;
}

/* ---- writing and installing packs ------------------------------------- */

/* Each git_indexer_append() maps and unmaps a window of the pack, so the
 * pack stream's many small writes (an object header, a few bytes of zlib)
 * are gathered into IO_BLOCK-sized appends: 100,000 objects index in half
 * a second instead of many seconds. */
struct indexing {
	git_indexer *idx;
	git_indexer_progress stats;
	uint8_t *block;
	size_t used;
};

static int indexing_flush(struct indexing *ix)
{
	int r = ix->used ? git_indexer_append(ix->idx, ix->block, ix->used, &ix->stats) : 0;

	ix->used = 0;
	return r;
}

static int indexing_feed(void *p, size_t n, void *payload)
{
	struct indexing *ix = payload;
	int r = 0;

	if (ix->used + n > IO_BLOCK && (r = indexing_flush(ix)) < 0)
		return r;
	if (n >= IO_BLOCK)
		return git_indexer_append(ix->idx, p, n, &ix->stats);
	memcpy(ix->block + ix->used, p, n);
	ix->used += n;
	return 0;
}

/* Indexes into dir.  With no odb a pack must hold the bases of all its
 * deltas (thin packs are refused); with one, the indexer completes a thin
 * pack by appending the bases it reads from there. */
static int indexing_begin(struct indexing *ix, const char *dir, git_odb *odb)
{
	git_indexer_options opts;
	int r;

	memset(ix, 0, sizeof(*ix));
	ix->block = mem_alloc(IO_BLOCK);
	if (!ix->block)
		return -ENOMEM;
	r = git_indexer_options_init(&opts, GIT_INDEXER_OPTIONS_VERSION);
	if (r < 0)
		return lg_err(r, "indexing a pack");
	r = git_indexer_new(&ix->idx, dir, 0, odb, &opts);
	return r < 0 ? lg_err(r, "indexing a pack") : 0;
}

/* Finishes the pack; hex (41 bytes) gets its hash, which names it. */
static int indexing_end(char *hex, struct indexing *ix, const char *what)
{
	const char *name;
	int r = indexing_flush(ix);

	if (r >= 0)
		r = git_indexer_commit(ix->idx, &ix->stats);
	if (r < 0)
		return lg_err(r, what);
	name = git_indexer_name(ix->idx);
	if (!name || strlen(name) != MGIT_OID_HEX)
		return err_set(-EBADMSG, "%s: the indexer gave no pack name", what);
	memcpy(hex, name, MGIT_OID_HEX + 1);
	return 0;
}

static void indexing_release(struct indexing *ix)
{
	git_indexer_free(ix->idx);
	mem_free(ix->block);
	memset(ix, 0, sizeof(*ix));
}

/* Streams the file at path (at most max bytes) through a new indexer. */
static int index_file(char *hex, const char *dir, const char *path, uint64_t max, git_odb *odb)
{
	AUTO_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct indexing ix = {0};
	struct stat st;
	int r;

	if (fd < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return err_set(-EINVAL, "%s: not a regular file", path);
	if ((uint64_t)st.st_size > max)
		return err_set(-EFBIG, "%s: %lld bytes, more than %llu", path,
			       (long long)st.st_size, (unsigned long long)max);
	r = indexing_begin(&ix, dir, odb);
	while (r >= 0) {
		ssize_t n = read(fd, ix.block, IO_BLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = err_set(-errno, "%s: %s", path, strerror(errno));
		else if (n == 0)
			break;
		else if ((r = git_indexer_append(ix.idx, ix.block, (size_t)n, &ix.stats)) < 0)
			r = lg_err(r, path);
	}
	if (r >= 0)
		r = indexing_end(hex, &ix, path);
	indexing_release(&ix);
	return r;
}

int mgit_pack_reindex(char *hex, const char *dir, const char *pack_path)
{
	return index_file(hex, dir, pack_path, UINT64_MAX, NULL);
}

/* Moves pack-<hex>.pack and .idx from the staging directory into
 * objects/pack: both fsynced, the pack renamed first, then the directory
 * fsynced.  A pack already installed is left as it is. */
static int pack_install(struct mgit *g, const char *stage, const char *hex)
{
	AUTO_FREE char *sp = mgit_pack_path(stage, hex, ".pack");
	AUTO_FREE char *si = mgit_pack_path(stage, hex, ".idx");
	AUTO_FREE char *dp = mgit_pack_path(g->packdir, hex, ".pack");
	AUTO_FREE char *di = mgit_pack_path(g->packdir, hex, ".idx");
	int r;

	if (!sp || !si || !dp || !di)
		return -ENOMEM;
	if (fs_exists(dp) && fs_exists(di))
		return 0;
	r = fs_mkdir_p(g->packdir, 0755);
	if (r >= 0)
		r = mgit_file_sync(sp);
	if (r >= 0)
		r = mgit_file_sync(si);
	if (r >= 0 && rename(sp, dp) < 0)
		r = err_set(-errno, "%s: %s", dp, strerror(errno));
	if (r >= 0 && rename(si, di) < 0)
		r = err_set(-errno, "%s: %s", di, strerror(errno));
	if (r >= 0)
		r = fs_fsync_dir(g->packdir);
	return r;
}

/* Checks the caller's buffer and empties it until there is a name. */
static int pack_name_start(char *out, size_t cap)
{
	if (cap < MGIT_PACK_NAME_MAX)
		return err_set(-EINVAL, "pack name buffer of %zu bytes, need %d", cap,
			       MGIT_PACK_NAME_MAX);
	out[0] = '\0';
	return 0;
}

/*
 * The pack stream (git's pack format, version 2): "PACK", the version and
 * the object count as big-endian 32-bit words; per object a header with
 * its type and size (4 bits, then 7 per byte, low bits first, the top bit
 * saying "more"), then the object as one zlib stream; last, the SHA-1 of
 * everything before it.  Objects go commits first, then trees, then blobs,
 * as git orders them.  No deltas: within one release nothing is similar
 * enough to pay for them (docs/manifests-git.md).
 */
#define SMALL_OBJECT (16u << 10)

struct packw {
	struct mgit *g;
	struct indexing *ix;
	struct sha1_ctx *sha;
	/* [0] for small objects: a 256-entry hash table, so the per-object
	 * deflateReset() clears 512 bytes, not 64 KiB.  [1] for the rest. */
	z_stream zs[2];
	bool zs_ready[2];
	uint8_t *out;
	size_t out_cap;
	uint32_t written;
};

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	return mem_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
	mem_free(p);
}

static void packw_release(struct packw *w)
{
	for (int i = 0; i < 2; i++) {
		if (w->zs_ready[i])
			deflateEnd(&w->zs[i]);
	}
	sha1_ctx_free(w->sha);
	mem_free(w->out);
}

static int packw_emit(struct packw *w, const void *p, size_t n)
{
	int r;

	sha1_ctx_update(w->sha, p, n);
	r = indexing_feed((void *)p, n, w->ix);
	return r < 0 ? lg_err(r, "writing a pack") : 0;
}

/* Deflates p into w->out; *n_out gets the compressed length. */
static int packw_deflate(struct packw *w, size_t *n_out, const void *p, size_t n)
{
	int which = n > SMALL_OBJECT, zr;
	z_stream *z = &w->zs[which];
	size_t bound;

	if (!w->zs_ready[which]) {
		z->zalloc = z_alloc;
		z->zfree = z_free;
		zr = deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15, which ? 8 : 1,
				  Z_DEFAULT_STRATEGY);
		if (zr != Z_OK)
			return zr == Z_MEM_ERROR ? -ENOMEM : err_set(-EIO, "zlib: cannot start");
		w->zs_ready[which] = true;
	} else if (deflateReset(z) != Z_OK) {
		return err_set(-EIO, "zlib: cannot reset");
	}
	bound = deflateBound(z, (uLong)n);
	if (bound > w->out_cap) {
		uint8_t *q = mem_realloc(w->out, bound);

		if (!q)
			return -ENOMEM;
		w->out = q;
		w->out_cap = bound;
	}
	z->next_in = (Bytef *)p;
	z->avail_in = (uInt)n;
	z->next_out = w->out;
	z->avail_out = (uInt)bound;
	zr = deflate(z, Z_FINISH);
	if (zr != Z_STREAM_END)
		return zr == Z_MEM_ERROR
			   ? -ENOMEM
			   : err_set(-EIO, "zlib: %s", z->msg ? z->msg : "deflate failed");
	*n_out = bound - z->avail_out;
	return 0;
}

int mgit_deflate(struct buf *out, const void *p, size_t n)
{
	uLongf zlen = compressBound((uLong)n);
	int r = buf_reserve(out, zlen);

	if (r < 0)
		return r;
	if (compress2(out->data + out->len, &zlen, p, (uLong)n, Z_BEST_COMPRESSION) != Z_OK)
		return err_set(-EIO, "zlib: cannot compress an object");
	out->len += zlen;
	return 0;
}

static size_t pack_obj_header(uint8_t *h, git_object_t type, size_t size)
{
	uint8_t c = (uint8_t)(((unsigned)type << 4) | (size & 15));
	size_t i = 0;

	for (size >>= 4; size; size >>= 7) {
		h[i++] = c | 0x80;
		c = size & 0x7f;
	}
	h[i++] = c;
	return i;
}

/* Appends one pending object if it is of kind want. */
static int packw_object(struct packw *w, const struct mgit_oid *id, git_object_t want)
{
	git_odb_backend *mp = w->g->mempack;
	uint8_t hdr[16];
	git_object_t type;
	void *data = NULL;
	size_t len, zlen = 0;
	git_oid gid;
	int r;

	oid_to_git(&gid, id);
	r = mp->read_header(&len, &type, mp, &gid);
	if (r < 0)
		return lg_err(r, "reading a pending object");
	if (type != want)
		return 0;
	r = mp->read(&data, &len, &type, mp, &gid);
	if (r < 0)
		return lg_err(r, "reading a pending object");
	r = packw_deflate(w, &zlen, data, len);
	git_odb_backend_data_free(mp, data);
	if (r >= 0)
		r = packw_emit(w, hdr, pack_obj_header(hdr, type, len));
	if (r >= 0)
		r = packw_emit(w, w->out, zlen);
	w->written += r >= 0;
	return r;
}

static int pack_stream(struct packw *w)
{
	static const git_object_t order[] = {GIT_OBJECT_COMMIT, GIT_OBJECT_TREE, GIT_OBJECT_BLOB};
	const struct mgit_oidset *pending = &w->g->pending;
	uint8_t head[12] = {'P', 'A', 'C', 'K'}, trailer[SHA1_LEN];
	int r;

	put_be32(head + 4, 2);
	put_be32(head + 8, pending->count);
	r = packw_emit(w, head, sizeof(head));
	for (size_t k = 0; r >= 0 && k < ARRAY_SIZE(order); k++) {
		for (uint32_t i = 0; r >= 0 && i < pending->count; i++)
			r = packw_object(w, &pending->ids[i], order[k]);
	}
	if (r >= 0 && w->written != pending->count)
		r = err_set(-EBADMSG, "%u pending objects are not commits, trees or blobs",
			    pending->count - w->written);
	if (r < 0)
		return r;
	sha1_ctx_final(w->sha, trailer);
	r = indexing_feed(trailer, sizeof(trailer), w->ix);
	return r < 0 ? lg_err(r, "writing a pack") : 0;
}

/* The pack is on disk: let the pack backend see it, then drop the copies
 * held in memory. */
static int pending_settle(struct mgit *g)
{
	int r = git_odb_refresh(g->odb);

	if (r < 0)
		return lg_err(r, "rescanning objects/pack");
	r = git_mempack_reset(g->mempack);
	if (r < 0)
		return lg_err(r, "clearing the in-memory objects");
	mgit_oidset_release(&g->pending);
	return 0;
}

int mgit_flush(char *name_out, size_t cap, struct mgit *g)
{
	struct indexing ix = {0};
	struct packw w = {.g = g, .ix = &ix};
	char *stage = NULL, hex[MGIT_OID_HEX + 1];
	int r = pack_name_start(name_out, cap);

	if (r < 0)
		return r;
	/* Nothing new: still repair server info an earlier failure left stale. */
	if (!g->pending.count)
		return mgit_server_info_update(g);
	r = sha1_ctx_new(&w.sha);
	if (r >= 0)
		r = mgit_staging_new(&stage, g->objdir);
	if (r >= 0)
		r = indexing_begin(&ix, stage, NULL);
	if (r >= 0)
		r = pack_stream(&w);
	if (r >= 0)
		r = indexing_end(hex, &ix, "writing a pack");
	if (r >= 0 && ix.stats.indexed_objects != g->pending.count)
		r = err_set(-EBADMSG, "the new pack holds %u objects, not %u",
			    ix.stats.indexed_objects, g->pending.count);
	if (r >= 0)
		r = pack_install(g, stage, hex);
	indexing_release(&ix);
	packw_release(&w);
	mgit_staging_remove(stage);
	if (r >= 0)
		r = pending_settle(g);
	if (r >= 0)
		snprintf(name_out, cap, "pack-%s.pack", hex);
	return r < 0 ? r : mgit_server_info_update(g);
}

/*
 * A pack from outside is complete if every object its commits and trees
 * name is in the pack or already on disk, and they pass ferry's strict
 * parsers (no symlinks, bad names, merges...).  libgit2's own check
 * (git_indexer_options.verify) is not used: in 1.5 it leaks every parsed
 * object that is already on disk.
 */
struct import_check {
	git_odb *odb; /* on-disk objects plus the staged pack */
	const char *what;
	char hex[MGIT_OID_HEX + 1];
};

static int import_need(const struct mgit_oid *id, bool is_dir, void *ctx)
{
	struct import_check *ic = ctx;
	char need[MGIT_OID_HEX + 1];
	git_oid gid;

	oid_to_git(&gid, id);
	if (git_odb_exists(ic->odb, &gid) == 1)
		return 0;
	mgit_oid_fmt(need, id);
	return err_set(-EBADMSG,
		       "pack is incomplete: %s %s names %s, which is neither in it nor here",
		       ic->what, ic->hex, need);
}

/* Parses one commit or tree of the staged pack (blobs are not read). */
static int import_check_one(struct import_check *ic, const git_oid *id)
{
	git_odb_object *obj = NULL;
	git_object_t type;
	struct mgit_commit c;
	size_t size;
	int r = git_odb_read_header(&size, &type, ic->odb, id);

	if (r < 0)
		return lg_err(r, "checking a pack");
	git_oid_tostr(ic->hex, sizeof(ic->hex), id);
	if (type != GIT_OBJECT_TREE && type != GIT_OBJECT_COMMIT)
		return 0;
	if (size > (type == GIT_OBJECT_TREE ? LIMIT_GIT_TREE_BYTES : LIMIT_GIT_COMMIT_BYTES))
		return err_set(-EFBIG, "checking a pack: %s %s has %zu bytes", kind_name(type),
			       ic->hex, size);
	r = git_odb_read(&obj, ic->odb, id);
	if (r < 0)
		return lg_err(r, "checking a pack");
	ic->what = kind_name(type);
	if (type == GIT_OBJECT_TREE) {
		r = mgit_tree_parse_each(git_odb_object_data(obj), git_odb_object_size(obj),
					 import_need, ic);
	} else {
		r = mgit_commit_parse(&c, git_odb_object_data(obj), git_odb_object_size(obj));
		if (r >= 0 && c.parent_count > 1)
			r = err_set(-EBADMSG, "commit %s is a merge; releases are linear", ic->hex);
		if (r >= 0)
			r = import_need(&c.tree, true, ic);
		if (r >= 0 && c.has_parent)
			r = import_need(&c.parent, false, ic);
		mgit_commit_release(&c);
	}
	git_odb_object_free(obj);
	return r < 0 ? mgit_err_wrap(r, "checking a pack") : 0;
}

/* Collects the staged pack's object IDs (the backend's own order). */
struct import_ids {
	struct mgit_oidset set;
	int err;
};

static int import_collect(const git_oid *id, void *payload)
{
	struct import_ids *ids = payload;
	struct mgit_oid oid;
	int r;

	oid_from_git(&oid, id);
	r = mgit_oidset_add(&ids->set, &oid);
	if (r < 0)
		ids->err = r;
	return r < 0 ? GIT_EUSER : 0;
}

static int import_check(struct mgit *g, const char *stage, const char *hex)
{
	AUTO_FREE char *idx = mgit_pack_path(stage, hex, ".idx");
	struct import_check ic = {0};
	struct import_ids ids = {0};
	git_odb_backend *staged = NULL;
	int r;

	if (!idx)
		return -ENOMEM;
	r = git_odb_open(&ic.odb, g->objdir);
	if (r >= 0 && (r = git_odb_backend_one_pack(&staged, idx)) >= 0 &&
	    (r = git_odb_add_backend(ic.odb, staged, PACK_PRIORITY + 1)) < 0)
		staged->free(staged);
	if (r >= 0)
		r = staged->foreach (staged, import_collect, &ids);
	if (ids.err)
		r = ids.err;
	else if (r < 0)
		r = lg_err(r, "checking a pack");
	for (uint32_t i = 0; r >= 0 && i < ids.set.count; i++) {
		git_oid id;

		oid_to_git(&id, &ids.set.ids[i]);
		r = import_check_one(&ic, &id);
	}
	mgit_oidset_release(&ids.set);
	git_odb_free(ic.odb);
	return r;
}

static int pack_import(char *name_out, size_t cap, struct mgit *g, const char *pack_path,
		       bool thin)
{
	char *stage = NULL, hex[MGIT_OID_HEX + 1];
	int r = pack_name_start(name_out, cap);

	if (r < 0)
		return r;
	r = mgit_staging_new(&stage, g->objdir);
	if (r >= 0)
		r = index_file(hex, stage, pack_path, LIMIT_GIT_PACK_BYTES, thin ? g->odb : NULL);
	if (r >= 0)
		r = import_check(g, stage, hex);
	if (r >= 0)
		r = pack_install(g, stage, hex);
	mgit_staging_remove(stage);
	if (r >= 0 && (r = git_odb_refresh(g->odb)) < 0)
		r = lg_err(r, "rescanning objects/pack");
	if (r >= 0)
		snprintf(name_out, cap, "pack-%s.pack", hex);
	return r < 0 ? r : mgit_server_info_update(g);
}

int mgit_pack_import(char *name_out, size_t cap, struct mgit *g, const char *pack_path)
{
	return pack_import(name_out, cap, g, pack_path, false);
}

int mgit_pack_import_thin(char *name_out, size_t cap, struct mgit *g, const char *pack_path)
{
	return pack_import(name_out, cap, g, pack_path, true);
}

/* ---- refs ------------------------------------------------------------- */

static int refname_check(const char *name)
{
	size_t n = strnlen(name, LIMIT_GIT_REFNAME_BYTES + 1);
	int valid = 0;

	if (n > LIMIT_GIT_REFNAME_BYTES)
		return err_set(-EINVAL, "ref name longer than %u bytes", LIMIT_GIT_REFNAME_BYTES);
	if (strncmp(name, "refs/", 5) != 0 || git_reference_name_is_valid(&valid, name) < 0 ||
	    !valid) {
		git_error_clear();
		return err_set(-EINVAL, "\"%s\" is not a valid ref name under refs/", name);
	}
	return 0;
}

int mgit_ref_read(struct mgit_oid *out, struct mgit *g, const char *refname)
{
	git_oid id;
	int r = refname_check(refname);

	if (r < 0)
		return r;
	r = git_reference_name_to_id(&id, g->repo, refname);
	if (r < 0)
		return lg_err(r, refname);
	oid_from_git(out, &id);
	return 0;
}

/* HEAD names refs/heads/master in a new repository; once a branch exists
 * HEAD must name an existing one, or `git clone` checks nothing out. */
static int head_adopt(struct mgit *g, const char *refname)
{
	git_reference *head = NULL, *ref = NULL;
	git_oid id;
	int r = git_reference_lookup(&head, g->repo, "HEAD");

	if (r >= 0 && git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
		r = git_reference_name_to_id(&id, g->repo, git_reference_symbolic_target(head));
		if (r == GIT_ENOTFOUND) {
			git_error_clear();
			r = git_reference_symbolic_create(&ref, g->repo, "HEAD", refname, 1, NULL);
		}
	}
	git_reference_free(ref);
	git_reference_free(head);
	return r < 0 ? lg_err(r, "pointing HEAD at a branch") : 0;
}

int mgit_head_target(char **out, struct mgit *g)
{
	git_reference *head = NULL;
	int r = git_reference_lookup(&head, g->repo, "HEAD");

	*out = NULL;
	if (r < 0)
		return lg_err(r, "HEAD");
	if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
	    !(*out = mem_strdup(git_reference_symbolic_target(head))))
		r = -ENOMEM;
	git_reference_free(head);
	return r;
}

int mgit_ref_update(struct mgit *g, const char *refname, const struct mgit_oid *new_id,
		    const struct mgit_oid *expected_old)
{
	char hex[MGIT_OID_HEX + 1];
	git_reference *ref = NULL;
	git_oid nid, oid;
	int r = refname_check(refname);

	if (r < 0)
		return r;
	mgit_oid_fmt(hex, new_id);
	if (mgit_oidset_has(&g->pending, new_id))
		return err_set(-EINVAL, "%s: commit %s is not flushed yet", refname, hex);
	r = mgit_obj_expect(g, new_id, MGIT_KIND_COMMIT, refname);
	if (r < 0)
		return r;
	oid_to_git(&nid, new_id);
	if (expected_old) {
		oid_to_git(&oid, expected_old);
		r = git_reference_create_matching(&ref, g->repo, refname, &nid, 1, &oid, NULL);
	} else {
		r = git_reference_create(&ref, g->repo, refname, &nid, 0, NULL);
	}
	git_reference_free(ref);
	/* Present when expected absent, or absent when expected present:
	 * either way the ref moved. */
	if (r == GIT_EEXISTS || (r == GIT_ENOTFOUND && expected_old))
		r = GIT_EMODIFIED;
	if (r < 0)
		return lg_err(r, refname);
	if (strncmp(refname, "refs/heads/", 11) == 0 && (r = head_adopt(g, refname)) < 0)
		return r;
	return mgit_server_info_update(g);
}

/* Every direct ref, sorted by name. */
int mgit_refs_collect(struct mgit_refv *out, struct mgit *g)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	int r = git_reference_iterator_new(&it, g->repo), ours = 0;

	while (r >= 0 && !ours && (r = git_reference_next(&ref, it)) >= 0) {
		if (git_reference_type(ref) == GIT_REFERENCE_DIRECT) {
			struct mgit_oid id;

			oid_from_git(&id, git_reference_target(ref));
			ours = mgit_refv_push(out, git_reference_name(ref), &id);
		}
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (ours < 0)
		r = ours;
	else if (r == GIT_ITEROVER)
		r = 0;
	else if (r < 0)
		r = lg_err(r, "listing refs");
	git_error_clear();
	if (r < 0)
		mgit_refv_release(out);
	else
		mgit_refv_sort(out);
	return r;
}

int mgit_refs_list(struct mgit *g, mgit_ref_fn cb, void *ctx)
{
	struct mgit_refv rv = {0};
	int r = mgit_refs_collect(&rv, g);

	for (size_t i = 0; r == 0 && i < rv.n; i++)
		r = cb(rv.v[i].name, &rv.v[i].id, ctx);
	mgit_refv_release(&rv);
	return r;
}

/* ---- info/refs and objects/info/packs --------------------------------- */

/* What `git update-server-info` writes: "<id>\t<name>", plus the peeled
 * "<id>\t<name>^{}" line for an annotated tag. */
static int info_refs_render(struct buf *out, struct mgit *g, const struct mgit_refv *rv)
{
	char hex[MGIT_OID_HEX + 1];
	int r = 0;

	for (size_t i = 0; r >= 0 && i < rv->n; i++) {
		git_object_t type = GIT_OBJECT_INVALID;
		git_reference *ref = NULL;
		git_object *peeled = NULL;
		size_t size;

		mgit_oid_fmt(hex, &rv->v[i].id);
		r = buf_printf(out, "%s\t%s\n", hex, rv->v[i].name);
		if (r < 0 || obj_header(&type, &size, g, &rv->v[i].id) < 0 ||
		    type != GIT_OBJECT_TAG)
			continue;
		if (git_reference_lookup(&ref, g->repo, rv->v[i].name) >= 0 &&
		    git_reference_peel(&peeled, ref, GIT_OBJECT_ANY) >= 0) {
			git_oid_tostr(hex, sizeof(hex), git_object_id(peeled));
			r = buf_printf(out, "%s\t%s^{}\n", hex, rv->v[i].name);
		}
		git_error_clear();
		git_object_free(peeled);
		git_reference_free(ref);
	}
	return r;
}

/* Installed packs: "pack-<hex>.pack" files whose .idx is there too. */
static int packs_installed(struct mgit_strv *out, struct mgit *g)
{
	struct mgit_strv all = {0};
	char hex[MGIT_OID_HEX + 1];
	int r = mgit_dir_list(&all, g->packdir);

	for (size_t i = 0; r >= 0 && i < all.n; i++) {
		char idx[5 + MGIT_OID_HEX + 5];

		if (!mgit_pack_name_parse(hex, all.v[i], ".pack"))
			continue;
		snprintf(idx, sizeof(idx), "pack-%s.idx", hex);
		if (bsearch(&(const char *){idx}, all.v, all.n, sizeof(*all.v), mgit_str_cmp))
			r = mgit_strv_push(out, all.v[i]);
	}
	mgit_strv_release(&all);
	return r;
}

static int info_packs_render(struct buf *out, struct mgit *g)
{
	struct mgit_strv packs = {0};
	int r = packs_installed(&packs, g);

	for (size_t i = 0; r >= 0 && i < packs.n; i++)
		r = buf_printf(out, "P %s\n", packs.v[i]);
	if (r >= 0)
		r = buf_append_byte(out, '\n');
	mgit_strv_release(&packs);
	return r;
}

const char *const mgit_info_path[2] = {"info/refs", "objects/info/packs"};

int mgit_server_info_render(struct buf out[2], struct mgit *g)
{
	struct mgit_refv rv = {0};
	int r = mgit_refs_collect(&rv, g);

	if (r >= 0)
		r = info_refs_render(&out[0], g, &rv);
	if (r >= 0)
		r = info_packs_render(&out[1], g);
	mgit_refv_release(&rv);
	return r == -EFBIG ? err_set(r, "server info larger than %u bytes", LIMIT_CATALOG_BYTES)
			   : r;
}

int mgit_server_info_update(struct mgit *g)
{
	struct buf want[2];
	int r;

	buf_init(&want[0], LIMIT_CATALOG_BYTES);
	buf_init(&want[1], LIMIT_CATALOG_BYTES);
	r = mgit_server_info_render(want, g);
	for (int i = 0; r >= 0 && i < 2; i++) {
		AUTO_FREE char *path = fs_join(g->gitdir, mgit_info_path[i]);

		if (!path)
			r = -ENOMEM;
		else if (!mgit_file_holds(path, &want[i]) &&
			 (r = fs_mkdir_parents(path, 0755)) >= 0)
			r = fs_write_atomic(path, want[i].data, want[i].len);
	}
	buf_release(&want[0]);
	buf_release(&want[1]);
	return r;
}
