/*
 * usb_salvage.c — what is still good on a damaged stick.
 *
 * A sync stops using a source as soon as it serves one chunk that does not
 * verify (fetch.h): right for a mirror that lies, wasteful for a stick with
 * one flipped bit, whose other chunks are fine.  When an import ends
 * partial, usb_salvage() reads the whole stick once: every pack that
 * verifies is copied as it is into a folder of the store, every damaged
 * pack gives up the entries that still decode to their IDs (written into a
 * new pack), and the small files (ferry.json, heads, manifests.git) are
 * copied as they are — the sync checks those against signatures anyway.
 * The import then syncs from that folder and removes it.  Nothing here is
 * trusted more than the stick was: the sync verifies every byte again.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/fsx.h"
#include "core/mem.h"
#include "manifests/repo.h"
#include "packager/codec.h"
#include "packager/pack.h"
#include "packager/pack_list.h"
#include "sync/usb_int.h"

struct salvage {
	struct usb_ctx x;
	struct usb_salvage_result *res;
	const char *stick, *out;
	struct pack_writer *pw;
	struct codec *codec;
	uint8_t *raw;
};

static int count_problem(const char *line, void *ctx)
{
	(void)line;
	(void)ctx;
	return 0;
}

static int copy_small(struct salvage *s, const char *rel, bool dir)
{
	AUTO_FREE char *a = fs_join(s->stick, rel);
	AUTO_FREE char *b = fs_join(s->out, rel);

	if (!a || !b)
		return -ENOMEM;
	if (!fs_exists(a))
		return 0;
	return dir ? usb_copy_tree(&s->x, rel, a, b) : usb_copy_file(&s->x, rel, a, b, NULL);
}

/* Moves the sound entries of a damaged pack into the salvage pack. */
static int rescue(struct salvage *s, const char *pack_path, struct pack_index *idx)
{
	AUTO_FREE char *packs = fs_join(s->out, REPO_PACKS_DIR);
	AUTO_CLOSE int fd = open(pack_path, O_RDONLY | O_CLOEXEC);
	int r = 0;

	if (!packs)
		return -ENOMEM;
	if (fd < 0)
		return 0;
	for (size_t k = 0; r >= 0 && k < pack_index_count(idx); k++) {
		struct pack_entry e, h;
		const uint8_t *payload;
		size_t n;

		pack_index_get_by_offset(&e, idx, k);
		n = PACK_ENTRY_HEADER_LEN + e.stored_len;
		if (fs_pread_all(fd, s->x.buf, n, e.offset) < 0 ||
		    pack_entry_parse(&h, &payload, s->x.buf, n) < 0 ||
		    memcmp(h.id.b, e.id.b, SHA256_LEN) != 0 ||
		    pack_entry_decode(s->raw, LIMIT_CHUNK_MAX, &h, payload, s->codec) < 0) {
			s->res->bad_chunks++;
			continue;
		}
		if (s->pw && !pack_writer_fits(s->pw, h.stored_len)) {
			struct sha256 name;
			uint64_t size;

			r = pack_writer_finish(s->pw, &name, &size);
			pack_writer_free(s->pw);
			s->pw = NULL;
		}
		if (r >= 0 && !s->pw)
			r = pack_writer_new(&s->pw, packs, 0);
		if (r >= 0)
			r = pack_writer_add(s->pw, &h.id, h.type, payload, h.stored_len, h.raw_len);
		if (r >= 0)
			s->res->rescued_chunks++;
	}
	return r;
}

static int one_pack(struct salvage *s, const char *sub, const char *name)
{
	AUTO_FREE char *ip = fs_join(sub, name);
	AUTO_FREE char *pp = NULL, *rel_p = NULL, *rel_i = NULL, *dp = NULL, *di = NULL;
	AUTO_FREE char *packs_out = fs_join(s->out, REPO_PACKS_DIR);
	struct pack_index *idx = NULL;
	struct sha256 id;
	int r;

	if (!ip || !packs_out)
		return -ENOMEM;
	if (pack_name_from_path(&id, ip, PACK_IDX_SUFFIX) < 0)
		return 0;
	{
		AUTO_FREE char *stick_packs = fs_join(s->stick, REPO_PACKS_DIR);

		r = stick_packs ? pack_path_make(&pp, stick_packs, &id, PACK_SUFFIX) : -ENOMEM;
	}
	if (r >= 0)
		r = pack_path_make(&rel_p, REPO_PACKS_DIR, &id, PACK_SUFFIX);
	if (r >= 0)
		r = pack_path_make(&rel_i, REPO_PACKS_DIR, &id, PACK_IDX_SUFFIX);
	if (r >= 0)
		r = pack_path_make(&dp, packs_out, &id, PACK_SUFFIX);
	if (r >= 0)
		r = pack_path_make(&di, packs_out, &id, PACK_IDX_SUFFIX);
	if (r < 0)
		return r;
	s->res->packs++;
	if (!fs_exists(pp))
		return 0;
	if (pack_verify(NULL, pp, ip, count_problem, NULL) == 0) {
		r = usb_copy_file(&s->x, rel_p, pp, dp, &id);
		if (r >= 0)
			r = usb_copy_file(&s->x, rel_i, ip, di, NULL);
		return r == -EBADMSG ? 0 : r;
	}
	s->res->damaged_packs++;
	if (s->res->ndamaged < USB_SALVAGE_NAMES)
		snprintf(s->res->damaged[s->res->ndamaged++], sizeof(s->res->damaged[0]), "%s",
			 rel_p);
	if (pack_index_load(&idx, ip) < 0)
		return 0; /* without its index nothing in it can be found */
	r = rescue(s, pp, idx);
	pack_index_free(idx);
	return r;
}

static int all_packs(struct salvage *s)
{
	AUTO_FREE char *packs = fs_join(s->stick, REPO_PACKS_DIR);
	DIR *top = packs ? opendir(packs) : NULL;
	struct dirent *d;
	int r = 0;

	while (r >= 0 && top && (d = readdir(top))) {
		AUTO_FREE char *sub = NULL;
		DIR *in;
		struct dirent *f;

		if (strlen(d->d_name) != 2 || d->d_name[0] == '.')
			continue;
		sub = fs_join(packs, d->d_name);
		in = sub ? opendir(sub) : NULL;
		while (r >= 0 && in && (f = readdir(in)))
			r = one_pack(s, sub, f->d_name);
		if (in)
			closedir(in);
	}
	if (top)
		closedir(top);
	return r;
}

int usb_salvage(struct usb_salvage_result *out, const char *stick, const char *dir)
{
	struct usb_export_result counts = {0};
	struct salvage s = {.res = out, .stick = stick, .out = dir};
	AUTO_FREE char *packs = fs_join(dir, REPO_PACKS_DIR);
	int r;

	memset(out, 0, sizeof(*out));
	s.x.res = &counts;
	s.x.buf = mem_alloc(PACK_ENTRY_HEADER_LEN + LIMIT_CHUNK_MAX + (1u << 20));
	s.raw = mem_alloc(LIMIT_CHUNK_MAX);
	r = s.x.buf && s.raw && packs ? usb_remove_tree(dir) : -ENOMEM;
	if (r >= 0)
		r = codec_new(&s.codec, 3);
	if (r >= 0)
		r = fs_mkdir_p(packs, 0755);
	if (r >= 0)
		r = copy_small(&s, REPO_CONFIG_FILE, false);
	if (r >= 0)
		r = copy_small(&s, REPO_CONFIG_SIG_FILE, false);
	if (r >= 0)
		r = copy_small(&s, REPO_HEADS_DIR, true);
	if (r >= 0)
		r = copy_small(&s, REPO_GIT_DIR, true);
	if (r >= 0)
		r = all_packs(&s);
	if (r >= 0 && s.pw && pack_writer_count(s.pw)) {
		struct sha256 name;
		uint64_t size;

		r = pack_writer_finish(s.pw, &name, &size);
	}
	if (r >= 0)
		r = pack_list_write(packs);
	pack_writer_free(s.pw);
	codec_free(s.codec);
	mem_free(s.raw);
	mem_free(s.x.buf);
	for (size_t i = 0; i < s.x.nnames; i++)
		mem_free(s.x.names[i]);
	mem_free(s.x.names);
	return r;
}
