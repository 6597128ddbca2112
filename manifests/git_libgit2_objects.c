/*
 * git_libgit2_objects.c — the release objects' formats: paths, trees and
 * commits, built and parsed without libgit2.
 *
 * Building a tree: a release has up to hundreds of thousands of files, so
 * the builder does not insert path by path into nested tree objects.  It
 * checks each path as it is put (a hash set of every path and every parent
 * directory catches duplicates and file/directory clashes at once), keeps
 * the paths in an arena, and on write sorts them once.  Sorted by plain
 * bytes, the paths of one directory are contiguous and — because '/'
 * compares exactly like the trailing slash git appends to directory names
 * when it orders tree entries — already in git's tree order.  One recursive
 * pass then serializes each directory after its children.
 *
 * Reading a tree: trees may come from a hostile mirror.  The parser accepts
 * only what a release contains — mode 100644 files and 40000 directories
 * with valid names, strictly ordered, no name twice — and says which path
 * broke the rule.  Walks and diffs hold one tree per level under a memory
 * budget, and a diff never opens a subtree whose ID is equal on both sides.
 *
 * Commits are formatted byte for byte as git writes them, the signature
 * inserted as `git commit -S` inserts it, and parsed back strictly, split
 * into the signed payload and the gpgsig text the way git verify-commit
 * splits them.
 *
 * Objects are stored and fetched through git_libgit2.c (git_libgit2_int.h);
 * this file does not include libgit2.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/git_libgit2_int.h"
#include "packager/tree_walk.h"

#define MODE_FILE "100644"
#define MODE_DIR "40000"

/* ---- errors ---- */

int mgit_err_wrap(int code, const char *fmt, ...)
{
	char detail[512], prefix[512];
	va_list ap;

	snprintf(detail, sizeof(detail), "%s", err_detail());
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	return err_set(code, "%s: %s", prefix, detail);
}

/* ---- sets of object IDs -------------------------------------------------- */

void mgit_oidset_init(struct mgit_oidset *s)
{
	memset(s, 0, sizeof(*s));
}

void mgit_oidset_release(struct mgit_oidset *s)
{
	mem_free(s->ids);
	mem_free(s->slots);
	mgit_oidset_init(s);
}

static uint32_t oid_hash(const struct mgit_oid *id)
{
	return get_le32(id->id);
}

/* The slot holding id, or the empty slot where it would go. */
static uint32_t *oidset_slot(const struct mgit_oidset *s, const struct mgit_oid *id)
{
	uint32_t mask = s->nslots - 1;

	for (uint32_t i = oid_hash(id) & mask;; i = (i + 1) & mask) {
		uint32_t *slot = &s->slots[i];

		if (!*slot || mgit_oid_eq(&s->ids[*slot - 1], id))
			return slot;
	}
}

bool mgit_oidset_has(const struct mgit_oidset *s, const struct mgit_oid *id)
{
	return s->nslots && *oidset_slot(s, id) != 0;
}

/* Makes room for one more ID (at under 50% table load). */
int mgit_oidset_reserve(struct mgit_oidset *s)
{
	if (s->count == UINT32_MAX - 1)
		return err_set(-EFBIG, "too many objects in one set");
	if (s->count == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 1024;
		struct mgit_oid *ids = mem_realloc(s->ids, (size_t)cap * sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		s->ids = ids;
		s->cap = cap;
	}
	if ((uint64_t)(s->count + 1) * 2 > s->nslots) {
		uint32_t n = s->nslots ? s->nslots * 2 : 2048;
		uint32_t *old = s->slots;

		s->slots = mem_calloc(n, sizeof(*s->slots));
		if (!s->slots) {
			s->slots = old;
			return -ENOMEM;
		}
		s->nslots = n;
		for (uint32_t i = 0; i < s->count; i++)
			*oidset_slot(s, &s->ids[i]) = i + 1;
		mem_free(old);
	}
	return 0;
}

int mgit_oidset_add(struct mgit_oidset *s, const struct mgit_oid *id)
{
	uint32_t *slot;
	int r;

	if (mgit_oidset_has(s, id))
		return 0;
	r = mgit_oidset_reserve(s);
	if (r < 0)
		return r;
	slot = oidset_slot(s, id);
	s->ids[s->count++] = *id;
	*slot = s->count;
	return 1;
}

/* ---- path rules ------------------------------------------------------- */

/* Decodes one UTF-8 sequence strictly (no overlongs, surrogates or code
 * points past U+10FFFF); returns its length, or 0 if invalid. */
static size_t utf8_decode(uint32_t *cp, const uint8_t *p, size_t n)
{
	uint32_t c = p[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Code points HFS+ ignores when it compares names, so ".g\u200cit" is
 * ".git" there (the list git itself guards against). */
static bool hfs_ignorable(uint32_t c)
{
	return (c >= 0x200c && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x206a && c <= 0x206f) || c == 0xfeff;
}

/*
 * Would a file system take this segment for ".git"?  Case-insensitive
 * systems fold case, HFS+ drops ignorable code points, Windows drops
 * trailing dots and spaces, reads "name:stream" as name, and knows the 8.3
 * alias "git~1".  seg is valid UTF-8.
 */
static bool seg_is_dotgit(const uint8_t *seg, size_t n)
{
	char fold[LIMIT_NAME_BYTES + 1];
	size_t k = 0;

	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t l = utf8_decode(&c, seg + i, n - i);

		i += l;
		if (hfs_ignorable(c))
			continue;
		if (c >= 0x80)
			return false;
		if (c == ':')
			break;
		fold[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	while (k && (fold[k - 1] == '.' || fold[k - 1] == ' '))
		k--;
	return (k == 4 && memcmp(fold, ".git", 4) == 0) || (k == 5 && memcmp(fold, "git~1", 5) == 0);
}

/*
 * Checks one segment (no '/' inside): packager's tree_name_check(), the
 * rule the packer applies to every name it reads from a folder (no
 * control characters, '/' or '\\', no "." or "..", at most
 * LIMIT_NAME_BYTES), then strict UTF-8 (no overlongs or surrogates) and no
 * ".git" look-alike.  0 or -EINVAL with the reason.
 */
static int seg_check(const uint8_t *seg, size_t n)
{
	char name[LIMIT_NAME_BYTES + 1];
	int r;

	if (n == 0)
		return err_set(-EINVAL, "empty path segment");
	if (n > LIMIT_NAME_BYTES)
		return err_set(-EINVAL, "name longer than %u bytes", LIMIT_NAME_BYTES);
	memcpy(name, seg, n);
	name[n] = '\0';
	r = tree_name_check(name);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t l = utf8_decode(&c, seg + i, n - i);

		if (l == 0)
			return err_set(-EINVAL, "\"%s\": not valid UTF-8 at byte %zu", name, i);
		i += l;
	}
	if (seg_is_dotgit(seg, n))
		return err_set(-EINVAL, "\"%s\" reads as \".git\" on some file system", name);
	return 0;
}

/* Checks a whole path of n bytes; *depth_out gets its segment count. */
static int path_check_n(unsigned *depth_out, const char *path, size_t n)
{
	const uint8_t *p = (const uint8_t *)path;
	unsigned depth = 0;
	size_t start = 0;

	if (n == 0)
		return err_set(-EINVAL, "empty path");
	if (n > LIMIT_PATH_BYTES)
		return err_set(-EINVAL, "path longer than %u bytes", LIMIT_PATH_BYTES);
	for (size_t i = 0; i <= n; i++) {
		int r;

		if (i < n && p[i] != '/')
			continue;
		if (++depth > LIMIT_PATH_DEPTH)
			return err_set(-EINVAL, "more than %u segments", LIMIT_PATH_DEPTH);
		r = seg_check(p + start, i - start);
		if (r < 0)
			return mgit_err_wrap(r, "path \"%.*s\"", (int)n, path);
		start = i + 1;
	}
	if (depth_out)
		*depth_out = depth;
	return 0;
}

int mgit_path_check(const char *path)
{
	return path_check_n(NULL, path, strnlen(path, LIMIT_PATH_BYTES + 1));
}

/* ---- the builder ------------------------------------------------------ */

struct tree_ent {
	const char *path;   /* in the arena, not NUL-terminated */
	uint32_t len;
	struct mgit_oid blob;
};

enum { SLOT_EMPTY, SLOT_FILE, SLOT_DIR };

/* One known path: a file, or a directory (a prefix of some file's path). */
struct name_slot {
	const char *p;
	uint32_t len;
	uint32_t hash;
	uint32_t kind;
};

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	char data[];
};

struct mgit_tree {
	struct mgit *g;
	struct tree_ent *ents;
	size_t n, cap;
	struct name_slot *slots;
	size_t nslots, nused;
	struct arena_chunk *arena;
};

#define ARENA_CHUNK (256u << 10)

int mgit_tree_new(struct mgit_tree **out, struct mgit *g)
{
	struct mgit_tree *t = mem_calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->g = g;
	*out = t;
	return 0;
}

void mgit_tree_free(struct mgit_tree *t)
{
	if (!t)
		return;
	while (t->arena) {
		struct arena_chunk *c = t->arena;

		t->arena = c->next;
		mem_free(c);
	}
	mem_free(t->ents);
	mem_free(t->slots);
	mem_free(t);
}

size_t mgit_tree_count(const struct mgit_tree *t)
{
	return t->n;
}

static uint32_t fnv_step(uint32_t h, uint8_t c)
{
	return (h ^ c) * 16777619u;
}

static struct name_slot *slot_find(const struct mgit_tree *t, const char *p, uint32_t len, uint32_t hash)
{
	size_t mask = t->nslots - 1;

	if (!t->nslots)
		return NULL;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct name_slot *s = &t->slots[i];

		if (s->kind == SLOT_EMPTY)
			return s;
		if (s->hash == hash && s->len == len && memcmp(s->p, p, len) == 0)
			return s;
	}
}

/* Makes room for `more` new names at under 50% load; changes nothing on
 * failure. */
static int slots_reserve(struct mgit_tree *t, size_t more)
{
	size_t want = t->nslots ? t->nslots : 1024, need;
	struct name_slot *old = t->slots, *fresh;
	size_t oldn = t->nslots;

	if (!mem_add_ok(&need, t->nused, more) || !mem_mul_ok(&need, need, 2))
		return -ENOMEM;
	while (want < need)
		want *= 2;
	if (want == t->nslots)
		return 0;
	fresh = mem_calloc(want, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	t->slots = fresh;
	t->nslots = want;
	for (size_t i = 0; i < oldn; i++) {
		if (old[i].kind != SLOT_EMPTY)
			*slot_find(t, old[i].p, old[i].len, old[i].hash) = old[i];
	}
	mem_free(old);
	return 0;
}

static char *arena_copy(struct mgit_tree *t, const char *p, size_t n)
{
	struct arena_chunk *c = t->arena;
	char *q;

	if (!c || c->cap - c->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		c = mem_alloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = t->arena;
		c->used = 0;
		c->cap = cap;
		t->arena = c;
	}
	q = c->data + c->used;
	memcpy(q, p, n);
	c->used += n;
	return q;
}

static int ents_reserve(struct mgit_tree *t)
{
	size_t cap, bytes;
	struct tree_ent *e;

	if (t->n < t->cap)
		return 0;
	cap = t->cap ? t->cap * 2 : 1024;
	if (!mem_mul_ok(&bytes, cap, sizeof(*e)))
		return -ENOMEM;
	e = mem_realloc(t->ents, bytes);
	if (!e)
		return -ENOMEM;
	t->ents = e;
	t->cap = cap;
	return 0;
}

/*
 * Looks path and its parents up.  *missing gets how many parent
 * directories (the deepest ones) are not known yet; ends[]/hashes[] the
 * length and hash of each parent prefix, shallowest first.
 */
static int put_lookup(unsigned *missing, uint32_t *ends, uint32_t *hashes, uint32_t *full_hash,
		      const struct mgit_tree *t, const char *path, uint32_t n)
{
	unsigned nparents = 0, k;
	uint32_t h = 2166136261u;
	struct name_slot *s;

	for (uint32_t i = 0; i < n; i++) {
		if (path[i] == '/') {
			ends[nparents] = i;
			hashes[nparents++] = h;
		}
		h = fnv_step(h, (uint8_t)path[i]);
	}
	*full_hash = h;
	s = slot_find(t, path, n, h);
	if (s && s->kind == SLOT_FILE)
		return err_set(-EEXIST, "tree: \"%s\" is already in the tree", path);
	if (s && s->kind == SLOT_DIR)
		return err_set(-EISDIR, "tree: \"%s\" is already a directory", path);
	for (k = nparents; k > 0; k--) {
		s = slot_find(t, path, ends[k - 1], hashes[k - 1]);
		if (s && s->kind == SLOT_DIR)
			break;
		if (s && s->kind == SLOT_FILE)
			return err_set(-ENOTDIR, "tree: \"%s\" needs \"%.*s\" as a directory, but it is a file",
				       path, (int)ends[k - 1], path);
	}
	*missing = nparents - k;
	return 0;
}

static void slot_insert(struct mgit_tree *t, const char *p, uint32_t len, uint32_t hash, uint32_t kind)
{
	struct name_slot *s = slot_find(t, p, len, hash);

	*s = (struct name_slot){ .p = p, .len = len, .hash = hash, .kind = kind };
	t->nused++;
}

int mgit_tree_put(struct mgit_tree *t, const char *path, const struct mgit_oid *blob)
{
	uint32_t ends[LIMIT_PATH_DEPTH], hashes[LIMIT_PATH_DEPTH], h;
	size_t n = strnlen(path, LIMIT_PATH_BYTES + 1);
	unsigned depth, missing;
	const char *copy;
	int r;

	r = path_check_n(&depth, path, n);
	if (r < 0)
		return r;
	if (t->n >= LIMIT_GIT_TREE_ENTRIES)
		return err_set(-EFBIG, "tree: more than %u files", LIMIT_GIT_TREE_ENTRIES);
	if (!mgit_obj_exists(t->g, blob)) {
		char hex[MGIT_OID_HEX + 1];

		mgit_oid_fmt(hex, blob);
		return err_set(-ENOENT, "tree: \"%s\": blob %s does not exist", path, hex);
	}
	r = put_lookup(&missing, ends, hashes, &h, t, path, (uint32_t)n);
	if (r < 0)
		return r;
	/* Every allocation happens before anything is inserted. */
	if (slots_reserve(t, missing + 1) < 0 || ents_reserve(t) < 0)
		return -ENOMEM;
	copy = arena_copy(t, path, n);
	if (!copy)
		return -ENOMEM;
	for (unsigned k = depth - 1 - missing; k < depth - 1; k++)
		slot_insert(t, copy, ends[k], hashes[k], SLOT_DIR);
	slot_insert(t, copy, (uint32_t)n, h, SLOT_FILE);
	t->ents[t->n++] = (struct tree_ent){ .path = copy, .len = (uint32_t)n, .blob = *blob };
	return 0;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct tree_ent *x = a, *y = b;
	int c = memcmp(x->path, y->path, x->len < y->len ? x->len : y->len);

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

struct build {
	struct mgit *g;
	const struct tree_ent *ents;
	struct buf levels[LIMIT_PATH_DEPTH + 1];
};

static int tree_entry_append(struct buf *b, const char *mode, const char *name, size_t n,
			     const struct mgit_oid *id)
{
	int r = buf_append_str(b, mode);

	if (r >= 0)
		r = buf_append_byte(b, ' ');
	if (r >= 0)
		r = buf_append(b, name, n);
	if (r >= 0)
		r = buf_append_byte(b, 0);
	if (r >= 0)
		r = buf_append(b, id->id, MGIT_OID_LEN);
	return r;
}

/* Serializes the directory whose files are ents[lo, hi), all sharing the
 * first `off` bytes of path (the directory's path and its '/'). */
static int build_dir(struct mgit_oid *out, struct build *b, size_t lo, size_t hi, size_t off,
		     unsigned depth)
{
	struct buf *tb = &b->levels[depth];
	int r = 0;

	buf_reset(tb);
	for (size_t i = lo; i < hi && r >= 0;) {
		const struct tree_ent *e = &b->ents[i];
		const char *name = e->path + off;
		const char *slash = memchr(name, '/', e->len - off);
		size_t nlen, j;
		struct mgit_oid sub;

		if (!slash) {
			r = tree_entry_append(tb, MODE_FILE, name, e->len - off, &e->blob);
			i++;
			continue;
		}
		nlen = (size_t)(slash - name);
		for (j = i + 1; j < hi; j++) {
			const struct tree_ent *f = &b->ents[j];

			if (f->len <= off + nlen || memcmp(f->path + off, name, nlen + 1) != 0)
				break;
		}
		r = build_dir(&sub, b, i, j, off + nlen + 1, depth + 1);
		if (r >= 0)
			r = tree_entry_append(tb, MODE_DIR, name, nlen, &sub);
		i = j;
	}
	if (r == -EFBIG)
		return err_set(r, "tree: a directory holds more than %u bytes of entries",
			       LIMIT_GIT_TREE_BYTES);
	if (r < 0)
		return r;
	return mgit_obj_write(out, b->g, MGIT_KIND_TREE, tb->data, tb->len);
}

int mgit_tree_write(struct mgit_oid *out, struct mgit_tree *t)
{
	struct build *b = mem_alloc(sizeof(*b));
	int r;

	if (!b)
		return -ENOMEM;
	b->g = t->g;
	b->ents = t->ents;
	for (size_t i = 0; i < ARRAY_SIZE(b->levels); i++)
		buf_init(&b->levels[i], LIMIT_GIT_TREE_BYTES);
	if (t->n > 1)
		qsort(t->ents, t->n, sizeof(*t->ents), ent_cmp);
	r = build_dir(out, b, 0, t->n, 0, 0);
	for (size_t i = 0; i < ARRAY_SIZE(b->levels); i++)
		buf_release(&b->levels[i]);
	mem_free(b);
	return r;
}

/* ---- reading trees ---------------------------------------------------- */

struct tent {
	const char *name;   /* NUL-terminated, inside the raw tree */
	uint32_t len;
	bool is_dir;
	struct mgit_oid id;
};

/* A tree object read and parsed; ents point into raw. */
struct loaded {
	struct buf raw;
	struct tent *ents;
	size_t n;
	size_t cost;
};

/* git's entry order: names compared bytewise, a directory's name as if it
 * ended in '/'. */
static int tent_cmp(const char *a, size_t an, bool adir, const char *b, size_t bn, bool bdir)
{
	size_t m = an < bn ? an : bn;
	int c = memcmp(a, b, m);
	unsigned ca, cb;

	if (c)
		return c;
	ca = an > m ? (uint8_t)a[m] : adir ? '/' : 0;
	cb = bn > m ? (uint8_t)b[m] : bdir ? '/' : 0;
	return (int)ca - (int)cb;
}

/* Binary search in a parsed (strictly ordered) tree. */
static const struct tent *tent_find(const struct loaded *t, const char *name, size_t n, bool is_dir)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tent *e = &t->ents[mid];
		int c = tent_cmp(name, n, is_dir, e->name, e->len, e->is_dir);

		if (c == 0)
			return e;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int tent_push(struct loaded *t, size_t *cap, const struct tent *e)
{
	if (t->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64, bytes;
		struct tent *p;

		if (!mem_mul_ok(&bytes, ncap, sizeof(*p)))
			return -ENOMEM;
		p = mem_realloc(t->ents, bytes);
		if (!p)
			return -ENOMEM;
		t->ents = p;
		*cap = ncap;
	}
	t->ents[t->n++] = *e;
	return 0;
}

static const char *mode_what(const char *mode, size_t n)
{
	if (n == 6 && memcmp(mode, "120000", 6) == 0)
		return "a symlink";
	if (n == 6 && memcmp(mode, "160000", 6) == 0)
		return "a submodule";
	if (n == 6 && memcmp(mode, "100755", 6) == 0)
		return "an executable";
	return "an unknown kind of entry";
}

/* Parses one entry at *off; `where` is the tree's path, for messages. */
static int tent_parse(struct tent *e, const struct buf *raw, size_t *off, const char *where)
{
	const char *p = (const char *)raw->data + *off, *end = (const char *)raw->data + raw->len;
	const char *sp = memchr(p, ' ', (size_t)(end - p)), *nul;
	size_t mlen;

	if (!sp)
		return err_set(-EBADMSG, "tree \"%s\": truncated entry", where);
	mlen = (size_t)(sp - p);
	nul = memchr(sp + 1, 0, (size_t)(end - sp - 1));
	if (!nul || (size_t)(end - nul - 1) < MGIT_OID_LEN)
		return err_set(-EBADMSG, "tree \"%s\": truncated entry", where);
	e->name = sp + 1;
	e->len = (uint32_t)(nul - sp - 1);
	if (mlen == 6 && memcmp(p, MODE_FILE, 6) == 0)
		e->is_dir = false;
	else if (mlen == 5 && memcmp(p, MODE_DIR, 5) == 0)
		e->is_dir = true;
	else
		return err_set(-EBADMSG, "tree \"%s\": \"%.*s\" is %s (mode %.*s); releases hold only files and directories",
			       where, (int)(nul - sp - 1 > 200 ? 200 : nul - sp - 1), sp + 1,
			       mode_what(p, mlen), (int)(mlen > 8 ? 8 : mlen), p);
	if (seg_check((const uint8_t *)e->name, e->len) < 0)
		return mgit_err_wrap(-EBADMSG, "tree \"%s\": bad entry name", where);
	memcpy(e->id.id, nul + 1, MGIT_OID_LEN);
	*off = (size_t)(nul + 1 + MGIT_OID_LEN - (const char *)raw->data);
	return 0;
}

static int tree_parse(struct loaded *t, const char *where)
{
	size_t off = 0, cap = 0;
	int r;

	while (off < t->raw.len) {
		struct tent e;

		r = tent_parse(&e, &t->raw, &off, where);
		if (r < 0)
			return r;
		if (t->n) {
			const struct tent *prev = &t->ents[t->n - 1];

			if (tent_cmp(prev->name, prev->len, prev->is_dir, e.name, e.len, e.is_dir) >= 0)
				return err_set(-EBADMSG, "tree \"%s\": entries out of order or repeated at \"%s\"",
					       where, e.name);
		}
		r = tent_push(t, &cap, &e);
		if (r < 0)
			return r;
	}
	/* A file and a directory of the same name are not adjacent in git's
	 * order ("a" < "a.txt" < "a/"), so look each directory's name up. */
	for (size_t i = 0; i < t->n; i++) {
		if (t->ents[i].is_dir && tent_find(t, t->ents[i].name, t->ents[i].len, false))
			return err_set(-EBADMSG, "tree \"%s\": \"%s\" is both a file and a directory",
				       where, t->ents[i].name);
	}
	return 0;
}

static void loaded_release(struct loaded *t, size_t *live)
{
	if (live)
		*live -= t->cost;
	buf_release(&t->raw);
	mem_free(t->ents);
	t->ents = NULL;
	t->n = 0;
	t->cost = 0;
}

/* Reads and parses tree id; *live (if given) counts the bytes held by all
 * loaded trees and may not pass LIMIT_GIT_WALK_BYTES. */
static int tree_load(struct loaded *t, struct mgit *g, const struct mgit_oid *id, const char *where,
		     size_t *live)
{
	int r;

	memset(t, 0, sizeof(*t));
	buf_init(&t->raw, LIMIT_GIT_TREE_BYTES);
	r = mgit_obj_read(&t->raw, g, id, MGIT_KIND_TREE, LIMIT_GIT_TREE_BYTES);
	if (r >= 0)
		r = tree_parse(t, where[0] ? where : "/");
	if (r >= 0 && live) {
		t->cost = t->raw.cap + t->n * sizeof(struct tent);
		*live += t->cost;
		if (*live > LIMIT_GIT_WALK_BYTES)
			r = err_set(-EFBIG, "tree \"%s\": trees along one path hold more than %u bytes",
				    where, LIMIT_GIT_WALK_BYTES);
	}
	if (r < 0)
		loaded_release(t, live);
	return r;
}

/* What a path names inside a tree. */
struct found {
	bool present;
	bool is_dir;
	struct mgit_oid id;
};

/* Follows path (checked, non-empty) from tree. */
static int resolve(struct found *out, struct mgit *g, const struct mgit_oid *tree, const char *path)
{
	char where[LIMIT_PATH_BYTES + 1] = "";
	struct mgit_oid cur = *tree;
	const char *seg = path;
	int r = 0;

	out->present = false;
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
		struct loaded t;
		const struct tent *e;

		snprintf(where, sizeof(where), "%.*s", seg > path ? (int)(seg - path - 1) : 0, path);
		r = tree_load(&t, g, &cur, where, NULL);
		if (r < 0)
			return r;
		e = tent_find(&t, seg, n, true);
		if (!e)
			e = tent_find(&t, seg, n, false);
		if (e) {
			cur = e->id;
			out->is_dir = e->is_dir;
		}
		loaded_release(&t, NULL);
		if (!e || (slash && !out->is_dir))
			return 0;
		if (!slash)
			break;
		seg = slash + 1;
	}
	out->present = true;
	out->id = cur;
	return 0;
}

static int prefix_check(const char *prefix)
{
	if (!prefix || !prefix[0])
		return 0;
	return mgit_path_check(prefix);
}

int mgit_tree_get(struct mgit_oid *blob_out, struct mgit *g, const struct mgit_oid *tree, const char *path)
{
	struct found f;
	int r = mgit_path_check(path);

	if (r < 0)
		return r;
	r = resolve(&f, g, tree, path);
	if (r < 0)
		return r;
	if (!f.present)
		return err_set(-ENOENT, "\"%s\" is not in the tree", path);
	if (f.is_dir)
		return err_set(-EISDIR, "\"%s\" is a directory", path);
	*blob_out = f.id;
	return 0;
}

/* Walks one side of a tree for a walk or a diff. */
enum side { SIDE_WALK, SIDE_OLD, SIDE_NEW };

struct walker {
	struct mgit *g;
	mgit_walk_fn walk_cb;
	mgit_diff_fn diff_cb;
	void *ctx;
	size_t live;
	char path[LIMIT_PATH_BYTES + 1];
};

static int emit(struct walker *w, enum side side, const struct mgit_oid *a)
{
	if (side == SIDE_WALK)
		return w->walk_cb(w->path, a, w->ctx);
	if (side == SIDE_OLD)
		return w->diff_cb(w->path, a, NULL, w->ctx);
	return w->diff_cb(w->path, NULL, a, w->ctx);
}

/* Appends "/name" (or "name" at the root) to w->path, which is plen long;
 * returns the new length, or -EBADMSG if the path grows past the limits. */
static int path_push(struct walker *w, size_t plen, unsigned depth, const struct tent *e)
{
	size_t need = plen + (plen ? 1 : 0) + e->len;

	if (need > LIMIT_PATH_BYTES || depth >= LIMIT_PATH_DEPTH)
		return err_set(-EBADMSG, "tree \"%s\": paths nest deeper than the limits", w->path);
	if (plen)
		w->path[plen++] = '/';
	memcpy(w->path + plen, e->name, e->len);
	w->path[need] = '\0';
	return (int)need;
}

static int walk_tree(struct walker *w, enum side side, const struct mgit_oid *tree, size_t plen,
		     unsigned depth)
{
	struct loaded t;
	int r = tree_load(&t, w->g, tree, w->path, &w->live);

	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < t.n; i++) {
		const struct tent *e = &t.ents[i];
		int n = path_push(w, plen, depth, e);

		if (n < 0)
			r = n;
		else if (e->is_dir)
			r = walk_tree(w, side, &e->id, (size_t)n, depth + 1);
		else
			r = emit(w, side, &e->id);
		w->path[plen] = '\0';
	}
	loaded_release(&t, &w->live);
	return r;
}

int mgit_tree_walk(struct mgit *g, const struct mgit_oid *tree, const char *prefix, mgit_walk_fn cb,
		   void *ctx)
{
	struct walker *w;
	struct found f = { .present = true, .is_dir = true, .id = *tree };
	int r = prefix_check(prefix);

	if (r < 0)
		return r;
	if (prefix && prefix[0]) {
		r = resolve(&f, g, tree, prefix);
		if (r < 0)
			return r;
		if (!f.present)
			return err_set(-ENOENT, "\"%s\" is not in the tree", prefix);
	}
	w = mem_calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct walker){ .g = g, .walk_cb = cb, .ctx = ctx };
	if (prefix)
		strcpy(w->path, prefix);
	if (f.is_dir)
		r = walk_tree(w, SIDE_WALK, &f.id, strlen(w->path), 0);
	else
		r = cb(w->path, &f.id, ctx);
	mem_free(w);
	return r;
}

/* Reports the difference of one name present on at least one side. */
static int diff_node(struct walker *w, const struct found *a, const struct found *b, size_t plen,
		     unsigned depth);

static int diff_trees(struct walker *w, const struct mgit_oid *old, const struct mgit_oid *new_,
		      size_t plen, unsigned depth)
{
	struct loaded ta, tb;
	size_t i = 0, j = 0;
	int r = tree_load(&ta, w->g, old, w->path, &w->live);

	if (r < 0)
		return r;
	r = tree_load(&tb, w->g, new_, w->path, &w->live);
	if (r < 0) {
		loaded_release(&ta, &w->live);
		return r;
	}
	while (r == 0 && (i < ta.n || j < tb.n)) {
		const struct tent *x = i < ta.n ? &ta.ents[i] : NULL, *y = j < tb.n ? &tb.ents[j] : NULL;
		int c = !x ? 1 : !y ? -1 : tent_cmp(x->name, x->len, x->is_dir, y->name, y->len, y->is_dir);
		struct found a = { 0 }, b = { 0 };
		int n = path_push(w, plen, depth, c <= 0 ? x : y);

		if (c <= 0) {
			a = (struct found){ .present = true, .is_dir = x->is_dir, .id = x->id };
			i++;
		}
		if (c >= 0) {
			b = (struct found){ .present = true, .is_dir = y->is_dir, .id = y->id };
			j++;
		}
		r = n < 0 ? n : diff_node(w, &a, &b, (size_t)n, depth + 1);
		w->path[plen] = '\0';
	}
	loaded_release(&tb, &w->live);
	loaded_release(&ta, &w->live);
	return r;
}

static int diff_node(struct walker *w, const struct found *a, const struct found *b, size_t plen,
		     unsigned depth)
{
	int r = 0;

	if (a->present && b->present && a->is_dir == b->is_dir) {
		if (mgit_oid_eq(&a->id, &b->id))
			return 0;
		if (a->is_dir)
			return diff_trees(w, &a->id, &b->id, plen, depth);
		return w->diff_cb(w->path, &a->id, &b->id, w->ctx);
	}
	/* One side only, or a file replaced by a directory (or back): the
	 * file sorts before everything under the directory of its name. */
	if (a->present && !a->is_dir)
		r = emit(w, SIDE_OLD, &a->id);
	if (r == 0 && b->present && !b->is_dir)
		r = emit(w, SIDE_NEW, &b->id);
	if (r == 0 && a->present && a->is_dir)
		r = walk_tree(w, SIDE_OLD, &a->id, plen, depth);
	if (r == 0 && b->present && b->is_dir)
		r = walk_tree(w, SIDE_NEW, &b->id, plen, depth);
	return r;
}

int mgit_tree_diff(struct mgit *g, const struct mgit_oid *old_tree, const struct mgit_oid *new_tree,
		   const char *prefix, mgit_diff_fn cb, void *ctx)
{
	struct found a = { 0 }, b = { .present = true, .is_dir = true, .id = *new_tree };
	struct walker *w;
	int r = prefix_check(prefix);

	if (r < 0)
		return r;
	if (old_tree)
		a = (struct found){ .present = true, .is_dir = true, .id = *old_tree };
	if (prefix && prefix[0]) {
		if (old_tree && (r = resolve(&a, g, old_tree, prefix)) < 0)
			return r;
		if ((r = resolve(&b, g, new_tree, prefix)) < 0)
			return r;
	}
	w = mem_calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct walker){ .g = g, .diff_cb = cb, .ctx = ctx };
	if (prefix)
		strcpy(w->path, prefix);
	r = diff_node(w, &a, &b, strlen(w->path), 0);
	mem_free(w);
	return r;
}

int mgit_tree_parse_each(const void *p, size_t n,
			 int (*fn)(const struct mgit_oid *id, bool is_dir, void *ctx), void *ctx)
{
	struct loaded t = { .raw = { .data = (uint8_t *)p, .len = n, .cap = n, .max = n } };
	int r = tree_parse(&t, "(imported)");

	for (size_t i = 0; r == 0 && i < t.n; i++)
		r = fn(&t.ents[i].id, t.ents[i].is_dir, ctx);
	mem_free(t.ents);
	return r;
}

/* ---- reachability, for mgit_verify() ---------------------------------- */

struct reach {
	struct mgit *g;
	struct mgit_oidset *seen;
	mgit_problem_fn problem;
	void *ctx;
	bool *found;
	char path[LIMIT_PATH_BYTES + 1];
};

static int reach_report(struct reach *c, const char *what, const struct mgit_oid *id)
{
	char hex[MGIT_OID_HEX + 1], line[LIMIT_PATH_BYTES + 600];

	mgit_oid_fmt(hex, id);
	snprintf(line, sizeof(line), "tree entry \"%s\" (%s): %s", c->path[0] ? c->path : "/", hex, what);
	*c->found = true;
	return c->problem ? c->problem(line, c->ctx) : 0;
}

static int reach_tree(struct reach *c, const struct mgit_oid *tree, size_t plen, unsigned depth)
{
	struct loaded t;
	int r = mgit_oidset_add(c->seen, tree);

	if (r <= 0)
		return r;
	r = tree_load(&t, c->g, tree, c->path, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return reach_report(c, err_detail(), tree);
	for (size_t i = 0; r == 0 && i < t.n; i++) {
		const struct tent *e = &t.ents[i];
		size_t need = plen + (plen ? 1 : 0) + e->len;

		if (need > LIMIT_PATH_BYTES || depth >= LIMIT_PATH_DEPTH) {
			r = reach_report(c, "paths nest deeper than the limits", tree);
			break;
		}
		if (plen)
			c->path[plen] = '/';
		memcpy(c->path + plen + (plen ? 1 : 0), e->name, e->len);
		c->path[need] = '\0';
		if (e->is_dir)
			r = reach_tree(c, &e->id, need, depth + 1);
		else if (!mgit_obj_exists(c->g, &e->id))
			r = reach_report(c, "blob missing", &e->id);
		c->path[plen] = '\0';
	}
	loaded_release(&t, NULL);
	return r;
}

int mgit_tree_reach(struct mgit *g, const struct mgit_oid *tree, struct mgit_oidset *seen,
		    mgit_problem_fn problem, void *ctx, bool *found)
{
	struct reach *c = mem_calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	*c = (struct reach){ .g = g, .seen = seen, .problem = problem, .ctx = ctx, .found = found };
	r = reach_tree(c, tree, 0, 0);
	mem_free(c);
	return r;
}

/* ---- commits ---------------------------------------------------------- */

/* git's year 9999, far past any release and inside every parser. */
#define WHEN_MAX 253402300799LL

static int ident_check(const char *what, const char *s)
{
	size_t n = strnlen(s, LIMIT_NAME_BYTES + 1);

	if (n == 0 || n > LIMIT_NAME_BYTES)
		return err_set(-EINVAL, "commit %s: empty or longer than %u bytes", what, LIMIT_NAME_BYTES);
	if (s[0] == ' ' || s[n - 1] == ' ')
		return err_set(-EINVAL, "commit %s: leading or trailing space", what);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
			return err_set(-EINVAL, "commit %s: contains '<', '>' or a control character", what);
	}
	return 0;
}

/* The commit object exactly as git writes it, without a signature. */
static int commit_format(struct buf *out, const struct mgit_oid *tree, const struct mgit_oid *parent,
			 const char *name, const char *email, int64_t when, const char *message)
{
	char hex[MGIT_OID_HEX + 1];
	int r;

	mgit_oid_fmt(hex, tree);
	r = buf_printf(out, "tree %s\n", hex);
	if (r >= 0 && parent) {
		mgit_oid_fmt(hex, parent);
		r = buf_printf(out, "parent %s\n", hex);
	}
	if (r >= 0)
		r = buf_printf(out, "author %s <%s> %lld +0000\ncommitter %s <%s> %lld +0000\n\n", name,
			       email, (long long)when, name, email, (long long)when);
	if (r >= 0)
		r = buf_append_str(out, message);
	return r == -EFBIG ? err_set(r, "commit larger than %u bytes", LIMIT_GIT_COMMIT_BYTES) : r;
}

/*
 * Inserts the signature as git's sign_with_header() does: a "gpgsig"
 * header at the end of the header block, its first line after "gpgsig ",
 * every further line after one space.
 */
static int commit_add_signature(struct buf *out, const struct buf *unsigned_commit, const struct buf *sig)
{
	const char *text = (const char *)unsigned_commit->data;
	const char *eoh = strstr(text, "\n\n");
	size_t head = (size_t)(eoh - text) + 1;
	int r = buf_append(out, text, head);

	if (r >= 0)
		r = buf_append_str(out, "gpgsig ");
	for (size_t i = 0; r >= 0 && i < sig->len; i++) {
		r = buf_append_byte(out, sig->data[i]);
		if (r >= 0 && sig->data[i] == '\n' && i + 1 < sig->len)
			r = buf_append_byte(out, ' ');
	}
	if (r >= 0 && sig->data[sig->len - 1] != '\n')
		r = buf_append_byte(out, '\n');
	if (r >= 0)
		r = buf_append(out, text + head, unsigned_commit->len - head);
	return r == -EFBIG ? err_set(r, "signed commit larger than %u bytes", LIMIT_GIT_COMMIT_BYTES) : r;
}

static int signature_check(const struct buf *sig)
{
	if (sig->len == 0)
		return err_set(-EINVAL, "the signer returned an empty signature");
	if (memchr(sig->data, 0, sig->len) || memchr(sig->data, '\r', sig->len))
		return err_set(-EINVAL, "the signature holds a NUL or CR byte");
	return 0;
}

static int commit_check_args(struct mgit *g, const struct mgit_oid *tree, const struct mgit_oid *parent,
			     const char *name, const char *email, int64_t when)
{
	int r = ident_check("name", name);

	if (r >= 0)
		r = ident_check("email", email);
	if (r >= 0 && (when < 0 || when > WHEN_MAX))
		r = err_set(-EINVAL, "commit time %lld out of range", (long long)when);
	if (r >= 0)
		r = mgit_obj_expect(g, tree, MGIT_KIND_TREE, "commit tree");
	if (r >= 0 && parent)
		r = mgit_obj_expect(g, parent, MGIT_KIND_COMMIT, "commit parent");
	return r;
}

int mgit_commit_create(struct mgit_oid *out, struct mgit *g, const struct mgit_oid *tree,
		       const struct mgit_oid *parent, const char *name, const char *email, int64_t when,
		       const char *message, mgit_sign_fn sign, void *ctx)
{
	struct buf text, sig, signed_text;
	int r = commit_check_args(g, tree, parent, name, email, when);

	if (r < 0)
		return r;
	buf_init(&text, LIMIT_GIT_COMMIT_BYTES);
	buf_init(&sig, LIMIT_GIT_SIGNATURE_BYTES);
	buf_init(&signed_text, LIMIT_GIT_COMMIT_BYTES);
	r = commit_format(&text, tree, parent, name, email, when, message);
	if (r >= 0 && !sign) {
		r = mgit_obj_write(out, g, MGIT_KIND_COMMIT, text.data, text.len);
		goto out;
	}
	if (r >= 0)
		r = sign(&sig, text.data, text.len, ctx);
	if (r >= 0)
		r = signature_check(&sig);
	if (r >= 0)
		r = commit_add_signature(&signed_text, &text, &sig);
	if (r >= 0)
		r = mgit_obj_write(out, g, MGIT_KIND_COMMIT, signed_text.data, signed_text.len);
out:
	buf_release(&text);
	buf_release(&sig);
	buf_release(&signed_text);
	return r < 0 ? r : 0;
}

void mgit_commit_release(struct mgit_commit *c)
{
	mem_free(c->message);
	mem_free(c->signature);
	mem_free(c->payload);
	memset(c, 0, sizeof(*c));
}

/* One header line of a commit being parsed, without its '\n'. */
struct cline {
	const char *p;
	size_t n;
};

static bool cline_key(const struct cline *l, const char *key, const char **value)
{
	size_t k = strlen(key);

	if (l->n <= k || memcmp(l->p, key, k) != 0 || l->p[k] != ' ')
		return false;
	*value = l->p + k + 1;
	return true;
}

static int cline_oid(struct mgit_oid *out, const struct cline *l, const char *key)
{
	char hex[MGIT_OID_HEX + 1];
	const char *v;

	if (!cline_key(l, key, &v) || l->n != strlen(key) + 1 + MGIT_OID_HEX)
		return err_set(-EBADMSG, "commit: bad or missing \"%s\" line", key);
	memcpy(hex, v, MGIT_OID_HEX);
	hex[MGIT_OID_HEX] = '\0';
	return mgit_oid_parse(out, hex) < 0 ? err_set(-EBADMSG, "commit: bad %s ID", key) : 0;
}

/* "Name <email> 1700000000 +0800" after the key: the time. */
static int ident_time(int64_t *out, const struct cline *l)
{
	const char *gt = memrchr(l->p, '>', l->n), *p, *end = l->p + l->n;
	int64_t t = 0;

	if (!gt || !memchr(l->p, '<', (size_t)(gt - l->p)) || end - gt < 3 || gt[1] != ' ')
		return err_set(-EBADMSG, "commit: malformed identity line");
	for (p = gt + 2; p < end && *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(t, 10, &t) || __builtin_add_overflow(t, *p - '0', &t))
			return err_set(-EBADMSG, "commit: time out of range");
	}
	if (p == gt + 2 || end - p != 6 || p[0] != ' ' || (p[1] != '+' && p[1] != '-'))
		return err_set(-EBADMSG, "commit: malformed time or time zone");
	for (int i = 2; i < 6; i++) {
		if (p[i] < '0' || p[i] > '9')
			return err_set(-EBADMSG, "commit: malformed time zone");
	}
	*out = t;
	return 0;
}

enum cstate { C_TREE, C_PARENTS, C_COMMITTER, C_EXTRA };

/* The header block is split into the signed payload and the gpgsig value,
 * the way git's parse_signed_commit() splits it. */
struct cparse {
	struct mgit_commit *c;
	enum cstate state;
	struct buf payload;
	struct buf sig;
	bool have_sig;
	bool in_sig;        /* the last header line belonged to gpgsig */
	bool any_extra;     /* an extra header was seen (continuations allowed) */
};

static int append_line(struct buf *b, const char *p, size_t n)
{
	int r = buf_append(b, p, n);

	return r < 0 ? r : buf_append_byte(b, '\n');
}

/* An extra header is "key value" with a lowercase key that is none of the
 * fixed ones ("parent" after "committer" is not a parent). */
static bool extra_key_ok(const struct cline *l)
{
	static const char *const fixed[] = { "tree", "parent", "author", "committer" };
	const char *sp = memchr(l->p, ' ', l->n), *v;

	if (!sp || sp == l->p)
		return false;
	for (const char *c = l->p; c < sp; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		if (cline_key(l, fixed[i], &v))
			return false;
	}
	return true;
}

/* Headers after committer: gpgsig, encoding, mergetag, ... */
static int cparse_extra(struct cparse *cp, const struct cline *l)
{
	const char *v;

	if (l->p[0] == ' ') {
		if (cp->in_sig)
			return append_line(&cp->sig, l->p + 1, l->n - 1);
		if (!cp->any_extra)
			return err_set(-EBADMSG, "commit: continuation line after committer");
		return append_line(&cp->payload, l->p, l->n);
	}
	cp->in_sig = false;
	cp->any_extra = true;
	if (!extra_key_ok(l))
		return err_set(-EBADMSG, "commit: malformed header \"%.*s\"", (int)(l->n > 40 ? 40 : l->n), l->p);
	if (cline_key(l, "gpgsig", &v)) {
		if (cp->have_sig)
			return err_set(-EBADMSG, "commit: two gpgsig headers");
		cp->have_sig = cp->in_sig = true;
		return append_line(&cp->sig, v, l->n - 7);
	}
	return append_line(&cp->payload, l->p, l->n);
}

static int cparse_line(struct cparse *cp, const struct cline *l)
{
	struct mgit_oid parent;
	int64_t t;
	const char *v;
	int r = 0;

	switch (cp->state) {
	case C_TREE:
		r = cline_oid(&cp->c->tree, l, "tree");
		cp->state = C_PARENTS;
		break;
	case C_PARENTS:
		if (cline_key(l, "parent", &v)) {
			r = cline_oid(&parent, l, "parent");
			if (r >= 0 && cp->c->parent_count++ == 0) {
				cp->c->parent = parent;
				cp->c->has_parent = true;
			}
			if (cp->c->parent_count > LIMIT_PATH_DEPTH)
				r = err_set(-EBADMSG, "commit: too many parents");
			break;
		}
		if (!cline_key(l, "author", &v))
			return err_set(-EBADMSG, "commit: no author line");
		r = ident_time(&t, l);
		cp->state = C_COMMITTER;
		break;
	case C_COMMITTER:
		if (!cline_key(l, "committer", &v))
			return err_set(-EBADMSG, "commit: no committer line after author");
		r = ident_time(&cp->c->time, l);
		cp->state = C_EXTRA;
		break;
	case C_EXTRA:
		return cparse_extra(cp, l);
	}
	return r < 0 ? r : append_line(&cp->payload, l->p, l->n);
}

static int commit_finish(struct mgit_commit *c, struct cparse *cp, const char *body, size_t n)
{
	int r = buf_append_byte(&cp->payload, '\n');

	if (r >= 0)
		r = buf_append(&cp->payload, body, n);
	if (r < 0)
		return r;
	c->message = mem_strndup(body, n);
	if (!c->message)
		return -ENOMEM;
	c->payload = buf_detach(&cp->payload, &c->payload_len);
	if (cp->have_sig)
		c->signature = (char *)buf_detach(&cp->sig, &c->signature_len);
	return c->payload && (!cp->have_sig || c->signature) ? 0 : -ENOMEM;
}

/* Strict: "tree", "parent"*, "author", "committer", then extra headers
 * (with continuation lines), a blank line and the message; no NUL. */
static int commit_parse(struct mgit_commit *c, const struct buf *raw)
{
	const char *p = (const char *)raw->data, *end = p + raw->len, *body = NULL;
	struct cparse cp = { .c = c };
	int r = 0;

	buf_init(&cp.payload, LIMIT_GIT_COMMIT_BYTES);
	buf_init(&cp.sig, LIMIT_GIT_COMMIT_BYTES);
	if (raw->len && memchr(p, 0, raw->len))
		r = err_set(-EBADMSG, "commit: NUL byte");
	while (r >= 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct cline l = { p, nl ? (size_t)(nl - p) : 0 };

		if (!nl)
			r = err_set(-EBADMSG, "commit: header not terminated");
		else if (l.n == 0)
			body = nl + 1;
		else
			r = cparse_line(&cp, &l);
		if (r < 0 || body)
			break;
		p = nl + 1;
	}
	if (r >= 0 && (!body || cp.state != C_EXTRA))
		r = err_set(-EBADMSG, "commit: missing tree, author, committer or blank line");
	if (r >= 0)
		r = commit_finish(c, &cp, body, (size_t)(end - body));
	buf_release(&cp.payload);
	buf_release(&cp.sig);
	return r;
}

int mgit_commit_parse(struct mgit_commit *out, const void *p, size_t n)
{
	const struct buf raw = { .data = (uint8_t *)p, .len = n, .cap = n, .max = n };
	int r;

	memset(out, 0, sizeof(*out));
	r = commit_parse(out, &raw);
	if (r < 0)
		mgit_commit_release(out);
	return r < 0 ? r : 0;
}

int mgit_commit_read(struct mgit_commit *out, struct mgit *g, const struct mgit_oid *id)
{
	char hex[MGIT_OID_HEX + 1];
	struct buf raw;
	int r;

	memset(out, 0, sizeof(*out));
	buf_init(&raw, LIMIT_GIT_COMMIT_BYTES);
	r = mgit_obj_read(&raw, g, id, MGIT_KIND_COMMIT, LIMIT_GIT_COMMIT_BYTES);
	if (r >= 0) {
		r = commit_parse(out, &raw);
		if (r < 0 && r != -ENOMEM) {
			mgit_oid_fmt(hex, id);
			r = mgit_err_wrap(r, "%s", hex);
		}
	}
	buf_release(&raw);
	if (r < 0)
		mgit_commit_release(out);
	return r < 0 ? r : 0;
}
