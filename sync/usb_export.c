/*
 * usb_export.c — `ferry usb export`: choose what goes on the stick, then
 * write it in the order that keeps a pulled stick valid (see usb.h).
 *
 * Choosing.  Each channel's release (its verified head, its commit, every
 * pointer under files/) gives the chunks it needs; with a request, the
 * chunks of the release the school has installed are taken away.  Each
 * chunk is found in the source's packs (by their .idx files) and in the
 * packs already on the stick.  Channels are then taken newest release
 * first while they fit under --max-size; one that does not is left out
 * with a sentence saying how much it needed.
 *
 * Memory: one 56-byte record per chunk wanted, sorted; a 1 TB catalog
 * (16 million chunks) would need about 1 GB, so exports that large are
 * for a county server, not a school box.
 */
#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/json_write.h"
#include "core/mem.h"
#include "manifests/head.h"
#include "manifests/mgit.h"
#include "manifests/pointer.h"
#include "manifests/repo.h"
#include "packager/codec.h"
#include "packager/pack.h"
#include "packager/pack_list.h"
#include "sync/usb_int.h"

struct want {
	struct sha256 id;
	uint32_t stored, raw;
	uint64_t mask; /* channels that need it */
	int32_t pack;  /* index into packs, -1 unlocated */
	uint64_t off;
	bool on_stick, selected;
};

struct spack {
	struct sha256 name;
	uint64_t size;
	struct pack_index *idx;
	bool selected, counted;
	bool at_dest; /* the stick has a file of its name and size */
};

struct exp {
	struct usb_ctx x;
	struct mf_repo *repo;
	struct mgit *git;
	struct want *w;
	size_t nw, capw;
	struct sha256 *have; /* chunks the school already has (--for) */
	size_t nhave, caphave;
	struct spack *packs;
	size_t npacks, cappacks;
	struct mf_head heads[USB_MAX_CHANNELS];
	bool up_to_date[USB_MAX_CHANNELS];
	struct buf blob;
	int cur; /* channel being collected */
	bool collect_have;
};

static void logf_(struct exp *e, const char *fmt, ...) FERRY_PRINTF(2, 3);
static void logf_(struct exp *e, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!e->x.o->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->x.o->log(line, e->x.o->ctx);
}

static int by_id(const void *a, const void *b)
{
	return memcmp(a, b, SHA256_LEN);
}

/* ---- what each channel needs ------------------------------------------- */

static int push_want(struct exp *e, const struct chunk_ref *c)
{
	if (e->collect_have) {
		if (e->nhave == e->caphave) {
			size_t cap = e->caphave ? 2 * e->caphave : 4096;
			struct sha256 *n = mem_realloc(e->have, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			e->have = n;
			e->caphave = cap;
		}
		e->have[e->nhave++] = c->id;
		return 0;
	}
	if (e->nw == e->capw) {
		size_t cap = e->capw ? 2 * e->capw : 4096;
		struct want *n = mem_realloc(e->w, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		e->w = n;
		e->capw = cap;
	}
	e->w[e->nw++] = (struct want){.id = c->id,
				      .stored = c->stored_len,
				      .raw = c->raw_len,
				      .mask = 1ull << e->cur,
				      .pack = -1};
	return 0;
}

static int on_pointer(const char *path, const struct mgit_oid *blob, void *ctx)
{
	struct exp *e = ctx;
	struct mf_pointer p;
	int r;

	buf_reset(&e->blob);
	r = mgit_blob_read(&e->blob, e->git, blob, LIMIT_POINTER_BYTES);
	if (r >= 0)
		r = mf_pointer_parse(&p, e->blob.data, e->blob.len);
	if (r < 0)
		return err_keep(r, "%s: %s", path, err_detail());
	for (size_t i = 0; r >= 0 && i < p.nchunks; i++)
		r = push_want(e, &p.chunks[i]);
	mf_pointer_release(&p);
	return r;
}

/* Walks a release's pointers: all of files/, or, for a school whose
 * subscription is narrowed to path prefixes, only files/<prefix> for each
 * (a prefix the release lacks holds nothing). */
static int walk_commit(struct exp *e, const uint8_t commit[MGIT_OID_LEN],
		       const struct usb_request_channel *rc)
{
	struct mgit_commit c = {0};
	struct mgit_oid id;
	int r;

	memcpy(id.id, commit, MGIT_OID_LEN);
	r = mgit_commit_read(&c, e->git, &id);
	if (r >= 0 && (!rc || rc->npaths == 0)) {
		r = mgit_tree_walk(e->git, &c.tree, "files", on_pointer, e);
		if (r == -ENOENT)
			r = 0; /* an empty release */
	}
	for (size_t i = 0; r >= 0 && rc && i < rc->npaths; i++) {
		size_t n = strlen(rc->paths[i]);
		AUTO_FREE char *prefix = mem_alloc(n + 8);

		if (!prefix) {
			r = -ENOMEM;
			break;
		}
		n -= n && rc->paths[i][n - 1] == '/';
		snprintf(prefix, n + 8, "files/%.*s", (int)n, rc->paths[i]);
		r = mgit_tree_walk(e->git, &c.tree, prefix, on_pointer, e);
		if (r == -ENOENT)
			r = 0;
	}
	mgit_commit_release(&c);
	return r;
}

static const struct usb_request_channel *req_channel(const struct usb_request *q, const char *name)
{
	for (size_t i = 0; q && i < q->n; i++)
		if (strcmp(q->ch[i].name, name) == 0)
			return &q->ch[i];
	return NULL;
}

/* What the school has: every chunk of each release it says it has
 * installed, when this repository knows that commit. */
static int collect_have(struct exp *e)
{
	const struct usb_request *q = e->x.o->req;
	int r = 0;

	e->collect_have = true;
	for (size_t i = 0; r >= 0 && q && i < q->n; i++) {
		uint8_t commit[MGIT_OID_LEN];
		struct mgit_oid id;

		if (!q->ch[i].commit[0])
			continue;
		if (hex_decode(commit, MGIT_OID_LEN, q->ch[i].commit, DB_COMMIT_HEX_LEN) < 0)
			continue;
		memcpy(id.id, commit, MGIT_OID_LEN);
		if (!mgit_object_exists(e->git, &id)) {
			logf_(e,
			      "the school's release of %s (%.12s) is unknown here: "
			      "exporting all of the channel",
			      q->ch[i].name, q->ch[i].commit);
			continue;
		}
		r = walk_commit(e, commit, &q->ch[i]);
	}
	e->collect_have = false;
	if (r >= 0 && e->nhave)
		qsort(e->have, e->nhave, sizeof(*e->have), by_id);
	return r;
}

/* Sorts the wants by ID, merges duplicates and drops what the school has. */
static void settle_wants(struct exp *e)
{
	size_t k = 0;

	if (e->nw == 0) /* nothing wanted: e->w may be NULL, which qsort must not see */
		return;
	qsort(e->w, e->nw, sizeof(*e->w), by_id);
	for (size_t i = 0; i < e->nw; i++) {
		if (k && memcmp(e->w[k - 1].id.b, e->w[i].id.b, SHA256_LEN) == 0) {
			e->w[k - 1].mask |= e->w[i].mask;
			continue;
		}
		if (e->nhave && bsearch(&e->w[i].id, e->have, e->nhave, sizeof(*e->have), by_id))
			continue;
		e->w[k++] = e->w[i];
	}
	e->nw = k;
}

static struct want *find_want(struct exp *e, const struct sha256 *id)
{
	return e->nw ? bsearch(id, e->w, e->nw, sizeof(*e->w), by_id) : NULL;
}

/* ---- where the chunks are ----------------------------------------------- */

typedef int (*pack_fn)(struct exp *e, struct pack_index *idx, const char *pack_path);

/* Calls fn for every pack under packs_dir whose .idx parses and whose pack
 * is present with the size the .idx states; fn owns idx. */
static int walk_packs(struct exp *e, const char *packs_dir, pack_fn fn)
{
	DIR *top = opendir(packs_dir);
	struct dirent *d;
	int r = 0;

	if (!top)
		return 0;
	while (r >= 0 && (d = readdir(top))) {
		AUTO_FREE char *sub = NULL;
		DIR *in;
		struct dirent *f;

		if (strlen(d->d_name) != 2 || d->d_name[0] == '.')
			continue;
		sub = fs_join(packs_dir, d->d_name);
		in = sub ? opendir(sub) : NULL;
		while (r >= 0 && in && (f = readdir(in))) {
			AUTO_FREE char *ip = fs_join(sub, f->d_name);
			AUTO_FREE char *pp = NULL;
			struct pack_index *idx = NULL;
			struct sha256 name;
			uint64_t size;

			if (!ip || pack_name_from_path(&name, ip, PACK_IDX_SUFFIX) < 0)
				continue;
			if (pack_path_make(&pp, packs_dir, &name, PACK_SUFFIX) < 0)
				r = -ENOMEM;
			else if (pack_index_load(&idx, ip) < 0 || fs_file_size(&size, pp) < 0 ||
				 size != pack_index_pack_size(idx) ||
				 memcmp(pack_index_name(idx)->b, name.b, SHA256_LEN) != 0)
				pack_index_free(idx);
			else
				r = fn(e, idx, pp);
		}
		if (in)
			closedir(in);
	}
	closedir(top);
	return r;
}

static int add_src_pack(struct exp *e, struct pack_index *idx, const char *pack_path)
{
	(void)pack_path;
	if (e->npacks == e->cappacks) {
		size_t cap = e->cappacks ? 2 * e->cappacks : 64;
		struct spack *n = mem_realloc(e->packs, cap * sizeof(*n));

		if (!n) {
			pack_index_free(idx);
			return -ENOMEM;
		}
		e->packs = n;
		e->cappacks = cap;
	}
	e->packs[e->npacks++] = (struct spack){
	    .name = *pack_index_name(idx), .size = pack_index_pack_size(idx), .idx = idx};
	return 0;
}

/* A pack already on the stick (with --for, whose packs are made for the
 * school): its chunks need not be written again if it still hashes to its
 * name; a damaged one is removed so that it is written afresh. */
static int on_stick_pack(struct exp *e, struct pack_index *idx, const char *pack_path)
{
	struct sha256 h;
	bool used = false;
	int r = usb_hash_file(&h, pack_path, e->x.buf);

	if (r < 0 || memcmp(h.b, pack_index_name(idx)->b, SHA256_LEN) != 0) {
		AUTO_FREE char *ip = NULL;
		AUTO_FREE char *pd = fs_join(e->x.o->dest, REPO_PACKS_DIR);

		logf_(e, "%s on the stick is damaged: writing it again", pack_path);
		if (pd && pack_path_make(&ip, pd, pack_index_name(idx), PACK_IDX_SUFFIX) >= 0)
			(void)unlink(ip);
		(void)unlink(pack_path);
		pack_index_free(idx);
		return 0;
	}
	for (size_t i = 0; i < pack_index_count(idx); i++) {
		struct pack_entry pe;
		struct want *w;

		pack_index_get(&pe, idx, i);
		w = find_want(e, &pe.id);
		if (w && pe.stored_len == w->stored && pe.raw_len == w->raw) {
			w->on_stick = true;
			used = true;
		}
	}
	if (used)
		e->x.res->bytes_kept += pack_index_pack_size(idx);
	pack_index_free(idx);
	return 0;
}

static int by_pack_name(const void *a, const void *b)
{
	return memcmp(((const struct spack *)a)->name.b, ((const struct spack *)b)->name.b,
		      SHA256_LEN);
}

static void locate(struct exp *e)
{
	AUTO_FREE char *dp = fs_join(e->x.o->dest, REPO_PACKS_DIR);

	if (e->npacks)
		qsort(e->packs, e->npacks, sizeof(*e->packs), by_pack_name);
	for (size_t p = 0; dp && p < e->npacks; p++) {
		AUTO_FREE char *pp = NULL;
		uint64_t size;

		e->packs[p].at_dest =
		    pack_path_make(&pp, dp, &e->packs[p].name, PACK_SUFFIX) >= 0 &&
		    fs_file_size(&size, pp) >= 0 && size == e->packs[p].size;
	}
	for (size_t p = 0; p < e->npacks; p++)
		for (size_t i = 0; i < pack_index_count(e->packs[p].idx); i++) {
			struct pack_entry pe;
			struct want *w;

			pack_index_get(&pe, e->packs[p].idx, i);
			w = find_want(e, &pe.id);
			if (w && w->pack < 0 && pe.stored_len == w->stored &&
			    pe.raw_len == w->raw) {
				w->pack = (int32_t)p;
				w->off = pe.offset;
			}
		}
}

/* ---- choosing ----------------------------------------------------------- */

static uint64_t dir_bytes(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *f;
	uint64_t sum = 0;

	while (d && (f = readdir(d))) {
		AUTO_FREE char *p = NULL;
		struct stat st;

		if (strcmp(f->d_name, ".") == 0 || strcmp(f->d_name, "..") == 0)
			continue;
		p = fs_join(path, f->d_name);
		if (p && lstat(p, &st) == 0)
			sum += S_ISDIR(st.st_mode) ? dir_bytes(p) : (uint64_t)st.st_size;
	}
	if (d)
		closedir(d);
	return sum;
}

/* What taking channel c would add to the stick; with take, takes it. */
static uint64_t channel_cost(struct exp *e, size_t c, bool take, uint64_t *unlocated)
{
	bool whole = !e->x.o->req;
	uint64_t cost = 0;

	*unlocated = 0;
	for (size_t p = 0; p < e->npacks; p++)
		e->packs[p].counted = false;
	for (size_t i = 0; i < e->nw; i++) {
		struct want *w = &e->w[i];

		if (!(w->mask & (1ull << c)) || w->on_stick || w->selected)
			continue;
		if (w->pack < 0) {
			(*unlocated)++;
			continue;
		}
		if (whole) {
			struct spack *sp = &e->packs[w->pack];

			if (!sp->selected && !sp->counted && !sp->at_dest)
				cost += sp->size;
			sp->counted = true;
			if (take)
				sp->selected = true;
		} else {
			cost += PACK_ENTRY_HEADER_LEN + w->stored + PACK_RECORD_LEN;
			if (take)
				w->selected = true;
		}
	}
	return cost;
}

static int by_time_desc(const void *a, const void *b)
{
	const struct usb_export_channel *x = a, *y = b;

	return x->time < y->time ? 1 : x->time > y->time ? -1 : strcmp(x->name, y->name);
}

static int choose(struct exp *e)
{
	struct usb_export_result *res = e->x.res;
	uint64_t left = e->x.o->max_size, meta;
	bool limited = left != 0, cut = false;
	char a[32], b[32];
	AUTO_FREE char *gd = mf_repo_path(e->repo, REPO_GIT_DIR);

	meta = gd ? dir_bytes(gd) + 64 * 1024 : 0;
	if (limited && meta >= left)
		return err_set(-ENOSPC,
			       "--max-size leaves no room even for the release "
			       "history (%llu bytes)",
			       (unsigned long long)meta);
	left -= limited ? meta : 0;
	for (size_t i = 0; i < res->n; i++) {
		struct usb_export_channel *ch = &res->ch[i];
		size_t c;
		uint64_t unl, cost;

		for (c = 0; c < res->n && strcmp(e->heads[c].channel, ch->name) != 0; c++)
			;
		if (e->up_to_date[c]) {
			ch->included = true;
			snprintf(ch->reason, sizeof(ch->reason), "the school already has it");
			continue;
		}
		cost = channel_cost(e, c, false, &unl);
		if (unl) {
			snprintf(ch->reason, sizeof(ch->reason),
				 "the source does not hold all of it (%llu chunks missing)",
				 (unsigned long long)unl);
			cut = true;
			continue;
		}
		if (limited && cost > left) {
			snprintf(a, sizeof(a), "%.1f MiB", (double)cost / 1048576.0);
			snprintf(b, sizeof(b), "%.1f MiB", (double)left / 1048576.0);
			snprintf(ch->reason, sizeof(ch->reason),
				 "left out: it needs %s and only %s is left under --max-size", a,
				 b);
			cut = true;
			continue;
		}
		(void)channel_cost(e, c, true, &unl);
		left -= limited ? cost : 0;
		ch->bytes = cost;
		e->x.total += cost;
		ch->included = true;
	}
	return cut ? 1 : 0;
}

/* ---- writing ------------------------------------------------------------ */

static int copy_rel(struct exp *e, const char *rel, const struct sha256 *expect)
{
	AUTO_FREE char *s = fs_join(e->x.o->src, rel);
	AUTO_FREE char *d = fs_join(e->x.o->dest, rel);

	if (!s || !d)
		return -ENOMEM;
	return usb_copy_file(&e->x, rel, s, d, expect);
}

static int pack_rel(char **out, const struct sha256 *name, const char *suffix)
{
	return pack_path_make(out, REPO_PACKS_DIR, name, suffix);
}

static int write_whole_packs(struct exp *e)
{
	int r = 0;

	for (size_t p = 0; r >= 0 && p < e->npacks; p++) {
		AUTO_FREE char *pr = NULL, *ir = NULL;
		uint64_t before = e->x.res->bytes_written;

		if (!e->packs[p].selected)
			continue;
		r = pack_rel(&pr, &e->packs[p].name, PACK_SUFFIX);
		if (r >= 0)
			r = pack_rel(&ir, &e->packs[p].name, PACK_IDX_SUFFIX);
		if (r >= 0)
			r = copy_rel(e, pr, &e->packs[p].name);
		if (r >= 0)
			r = copy_rel(e, ir, NULL);
		if (r >= 0 && e->x.res->bytes_written > before)
			e->x.res->packs_copied++;
	}
	return r;
}

static int by_place(const void *a, const void *b)
{
	const struct want *x = *(struct want *const *)a, *y = *(struct want *const *)b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int finish_pack(struct exp *e, struct pack_writer *pw)
{
	AUTO_FREE char *pr = NULL, *ir = NULL;
	struct sha256 name;
	uint64_t size;
	int r = pack_writer_finish(pw, &name, &size);

	if (r >= 0)
		r = pack_rel(&pr, &name, PACK_SUFFIX);
	if (r >= 0)
		r = pack_rel(&ir, &name, PACK_IDX_SUFFIX);
	if (r >= 0)
		r = usb_name_take(&e->x, pr);
	if (r >= 0)
		r = usb_name_take(&e->x, ir);
	if (r >= 0) {
		e->x.res->packs_made++;
		e->x.res->bytes_written += size;
	}
	return r;
}

/* Copies one entry, checked against its ID, into the pack being made. */
static int extract_one(struct exp *e, struct pack_writer **pw, const char *packs_dir, int fd,
		       const struct want *w, uint8_t *raw, struct codec *codec)
{
	struct pack_entry pe;
	const uint8_t *payload;
	size_t n = PACK_ENTRY_HEADER_LEN + w->stored;
	int r = fs_pread_all(fd, e->x.buf, n, w->off);

	if (r >= 0)
		r = pack_entry_parse(&pe, &payload, e->x.buf, n);
	if (r >= 0 && memcmp(pe.id.b, w->id.b, SHA256_LEN) != 0)
		r = -EBADMSG;
	if (r >= 0)
		r = pack_entry_decode(raw, LIMIT_CHUNK_MAX, &pe, payload, codec);
	if (r < 0)
		return err_set(r == -ENOMEM ? r : -EBADMSG,
			       "a chunk in the source's packs is "
			       "damaged: run ferry verify on the source");
	if (*pw && !pack_writer_fits(*pw, pe.stored_len)) {
		r = finish_pack(e, *pw);
		pack_writer_free(*pw);
		*pw = NULL;
		if (r < 0)
			return r;
	}
	if (!*pw && (r = pack_writer_new(pw, packs_dir, 0)) < 0)
		return r;
	e->x.res->chunks++;
	usb_progress(&e->x, PACK_ENTRY_HEADER_LEN + pe.stored_len);
	return pack_writer_add(*pw, &pe.id, pe.type, payload, pe.stored_len, pe.raw_len);
}

static int write_extracted(struct exp *e)
{
	AUTO_FREE char *packs_dir = fs_join(e->x.o->dest, REPO_PACKS_DIR);
	AUTO_FREE struct want **order = NULL;
	AUTO_FREE uint8_t *raw = mem_alloc(LIMIT_CHUNK_MAX);
	struct pack_writer *pw = NULL;
	struct codec *codec = NULL;
	size_t n = 0;
	int fd = -1, cur = -1, r;

	order = mem_calloc(e->nw + 1, sizeof(*order));
	if (!packs_dir || !order || !raw)
		return -ENOMEM;
	for (size_t i = 0; i < e->nw; i++)
		if (e->w[i].selected)
			order[n++] = &e->w[i];
	if (n == 0)
		return 0;
	qsort(order, n, sizeof(*order), by_place);
	r = codec_new(&codec, 3);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (order[i]->pack != cur) {
			AUTO_FREE char *pp = NULL;
			AUTO_FREE char *sp = fs_join(e->x.o->src, REPO_PACKS_DIR);

			if (fd >= 0)
				close(fd);
			cur = order[i]->pack;
			r = sp ? pack_path_make(&pp, sp, &e->packs[cur].name, PACK_SUFFIX)
			       : -ENOMEM;
			fd = r >= 0 ? open(pp, O_RDONLY | O_CLOEXEC) : -1;
			if (r >= 0 && fd < 0)
				r = err_set(-errno, "%s: %s", pp, strerror(errno));
			if (r < 0)
				break;
		}
		r = extract_one(e, &pw, packs_dir, fd, order[i], raw, codec);
	}
	if (r >= 0 && pw && pack_writer_count(pw))
		r = finish_pack(e, pw);
	pack_writer_free(pw);
	codec_free(codec);
	if (fd >= 0)
		close(fd);
	return r;
}

static int write_manifest(struct exp *e)
{
	const struct usb_export_result *res = e->x.res;
	AUTO_FREE char *path = fs_join(e->x.o->dest, USB_MANIFEST_FILE);
	struct buf b;
	struct jw w;
	int r;

	if (!path)
		return -ENOMEM;
	buf_init(&b, 1u << 20);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_key(&w, "format");
	jw_str(&w, "ferry-usb-export");
	jw_key(&w, "version");
	jw_u64(&w, 1);
	jw_key(&w, "repo");
	jw_str(&w, e->repo->cfg.id);
	jw_key(&w, "for_request");
	jw_bool(&w, e->x.o->req != NULL);
	jw_key(&w, "channels");
	jw_arr_begin(&w);
	for (size_t i = 0; i < res->n; i++) {
		jw_obj_begin(&w);
		jw_key(&w, "name");
		jw_str(&w, res->ch[i].name);
		jw_key(&w, "version");
		jw_u64(&w, res->ch[i].version);
		jw_key(&w, "included");
		jw_bool(&w, res->ch[i].included);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	r = jw_error(&w);
	if (r >= 0)
		r = buf_append_byte(&b, '\n');
	if (r >= 0)
		r = usb_name_take(&e->x, USB_MANIFEST_FILE);
	if (r >= 0)
		r = fs_write_atomic(path, b.data, b.len);
	buf_release(&b);
	return r;
}

/* Temporaries a pulled stick or a killed export left anywhere on it (the
 * top level, heads/<group>/, packs/<xx>/, manifests.git/). */
static int sweep(const char *dest)
{
	int r = fs_tmp_sweep(dest);

	return r < 0 ? r : usb_tmp_sweep_tree(dest);
}

static int write_all(struct exp *e)
{
	const char *dest = e->x.o->dest;
	AUTO_FREE char *packs = fs_join(dest, REPO_PACKS_DIR);
	AUTO_FREE char *gs = mf_repo_path(e->repo, REPO_GIT_DIR);
	AUTO_FREE char *gd = fs_join(dest, REPO_GIT_DIR);
	AUTO_FREE char *sig = mf_repo_path(e->repo, REPO_CONFIG_SIG_FILE);
	int r;

	if (!packs || !gs || !gd)
		return -ENOMEM;
	r = fs_mkdir_p(dest, 0755);
	if (r >= 0)
		r = sweep(dest);
	/* An empty packs/list (or one of what is already here: a list may
	 * miss packs, never name absent ones) before anything that makes the
	 * folder look like a repository. */
	if (r >= 0)
		r = fs_mkdir_p(packs, 0755);
	if (r >= 0)
		r = pack_list_write(packs);
	/* The release history next (objects before refs): ferry.json then
	 * makes the folder a repository whose refs all resolve, and heads
	 * come last. */
	if (r >= 0)
		r = usb_copy_git(&e->x, gs, gd);
	if (r >= 0)
		r = copy_rel(e, REPO_CONFIG_FILE, NULL);
	if (r >= 0 && sig && fs_exists(sig))
		r = copy_rel(e, REPO_CONFIG_SIG_FILE, NULL);
	/* Early, since it marks the folder as a stick for ferry verify. */
	if (r >= 0)
		r = write_manifest(e);
	if (r >= 0)
		r = e->x.o->req ? write_extracted(e) : write_whole_packs(e);
	if (r >= 0)
		r = fs_mkdir_p(packs, 0755);
	if (r >= 0)
		r = pack_list_write(packs);
	if (r >= 0)
		r = usb_name_take(&e->x, REPO_PACKS_DIR "/" PACK_LIST_FILE);
	for (size_t i = 0; r >= 0 && i < e->x.res->n; i++) {
		AUTO_FREE char *rel = NULL;

		if (!e->x.res->ch[i].included)
			continue;
		rel = fs_join(REPO_HEADS_DIR, e->x.res->ch[i].name);
		r = rel ? copy_rel(e, rel, NULL) : -ENOMEM;
	}
	return r;
}

/* ---- the run ------------------------------------------------------------ */

static int add_channel(struct exp *e, const char *name)
{
	struct usb_export_result *res = e->x.res;
	AUTO_FREE char *rel = fs_join(REPO_HEADS_DIR, name);
	struct usb_export_channel *ch;
	const struct usb_request_channel *rc;
	struct mf_head *h;
	int r;

	if (!rel)
		return -ENOMEM;
	for (size_t i = 0; i < res->n; i++)
		if (strcmp(res->ch[i].name, name) == 0)
			return 0;
	r = usb_fat_name_check(rel);
	if (r < 0)
		return r;
	if (!mf_channel_valid(name))
		return err_set(-EINVAL,
			       "\"%s\" is not a valid channel name (lower-case letters, "
			       "digits, '.', '_', '-' and '/')",
			       name);
	if (res->n == USB_MAX_CHANNELS)
		return err_set(-EFBIG, "more than %u channels", USB_MAX_CHANNELS);
	h = &e->heads[res->n];
	r = mf_repo_head_read(h, e->repo, name);
	if (r == -ENOENT)
		return err_set(-ENOENT, "%s has no channel %s", e->x.o->src, name);
	if (r < 0)
		return r;
	ch = &res->ch[res->n];
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	ch->version = h->version;
	ch->time = h->time;
	ch->files = h->files;
	ch->size = h->size;
	rc = req_channel(e->x.o->req, name);
	e->up_to_date[res->n] = rc && rc->installed >= h->version;
	e->cur = (int)res->n;
	res->n++;
	return e->up_to_date[res->n - 1] ? 0 : walk_commit(e, h->commit, rc);
}

/* Every channel with a head in src (heads/ walked recursively). */
static int all_channels(struct exp *e, const char *rel)
{
	AUTO_FREE char *dir = mf_repo_path(e->repo, rel);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *f;
	int r = 0;

	while (r >= 0 && d && (f = readdir(d))) {
		AUTO_FREE char *sub = NULL, *full = NULL;
		struct stat st;

		if (f->d_name[0] == '.' || strstr(f->d_name, ".tmp-"))
			continue;
		sub = fs_join(rel, f->d_name);
		full = sub ? mf_repo_path(e->repo, sub) : NULL;
		if (!full)
			r = -ENOMEM;
		else if (lstat(full, &st) < 0)
			continue;
		else if (S_ISDIR(st.st_mode))
			r = all_channels(e, sub);
		else if (S_ISREG(st.st_mode))
			r = add_channel(e, sub + strlen(REPO_HEADS_DIR) + 1);
	}
	if (d)
		closedir(d);
	return r;
}

static int pick_channels(struct exp *e)
{
	const struct usb_export_opts *o = e->x.o;
	int r = 0;

	if (o->nchannels)
		for (size_t i = 0; r >= 0 && i < o->nchannels; i++)
			r = add_channel(e, o->channels[i]);
	else if (o->req)
		for (size_t i = 0; r >= 0 && i < o->req->n; i++) {
			r = add_channel(e, o->req->ch[i].name);
			if (r == -ENOENT) {
				logf_(e, "the school asks for %s, which %s does not have",
				      o->req->ch[i].name, o->src);
				r = 0;
			}
		}
	else
		r = all_channels(e, REPO_HEADS_DIR);
	return r;
}

static void exp_release(struct exp *e)
{
	for (size_t p = 0; p < e->npacks; p++)
		pack_index_free(e->packs[p].idx);
	mem_free(e->packs);
	mem_free(e->w);
	mem_free(e->have);
	for (size_t i = 0; i < e->x.nnames; i++)
		mem_free(e->x.names[i]);
	mem_free(e->x.names);
	mem_free(e->x.buf);
	buf_release(&e->blob);
	mgit_free(e->git);
	mf_repo_close(e->repo);
}

static void sort_result(struct exp *e)
{
	struct usb_export_result *res = e->x.res;
	/* Heads and flags are looked up by name after sorting. */
	if (res->n)
		qsort(res->ch, res->n, sizeof(res->ch[0]), by_time_desc);
}

int usb_export(struct usb_export_result *out, const struct usb_export_opts *o)
{
	struct exp e = {.x = {.o = o, .res = out}};
	AUTO_FREE char *gd = NULL, *sp = NULL, *dp = NULL;
	int r, cut = 0;

	memset(out, 0, sizeof(*out));
	buf_init(&e.blob, LIMIT_POINTER_BYTES);
	e.x.buf = mem_alloc(PACK_ENTRY_HEADER_LEN + LIMIT_CHUNK_MAX + (1u << 20));
	r = e.x.buf ? mf_repo_open(&e.repo, o->src) : -ENOMEM;
	if (r >= 0 && o->req && strcmp(o->req->repo, e.repo->cfg.id) != 0)
		r = err_set(-EINVAL, "the request is for another repository (%s), not %s's (%s)",
			    o->req->repo, o->src, e.repo->cfg.id);
	if (r >= 0) {
		gd = mf_repo_path(e.repo, REPO_GIT_DIR);
		r = gd ? mgit_open(&e.git, gd) : -ENOMEM;
	}
	if (r >= 0)
		r = pick_channels(&e);
	if (r >= 0 && out->n == 0)
		r = err_set(-ENOENT, "%s has no channel to export", o->src);
	if (r >= 0)
		r = collect_have(&e);
	if (r >= 0) {
		settle_wants(&e);
		sp = fs_join(o->src, REPO_PACKS_DIR);
		dp = fs_join(o->dest, REPO_PACKS_DIR);
		r = sp && dp ? walk_packs(&e, sp, add_src_pack) : -ENOMEM;
	}
	/* Whole packs are compared by size and hash as they are copied. */
	if (r >= 0 && o->req)
		r = walk_packs(&e, dp, on_stick_pack);
	if (r >= 0) {
		locate(&e);
		sort_result(&e);
		r = cut = choose(&e);
	}
	if (r >= 0)
		r = write_all(&e);
	if (r >= 0)
		r = usb_readme_write(o->dest, out, e.repo->cfg.id, (int64_t)time(NULL));
	if (r >= 0) {
		AUTO_FREE char *all = mem_strdup(o->dest);

		out->stick_bytes = all ? dir_bytes(all) : 0;
	}
	exp_release(&e);
	if (r < 0)
		return r;
	return cut ? -EAGAIN : 0;
}
