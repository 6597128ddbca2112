/*
 * release_deltas.c — a release's meta/deltas/ blobs, merged into one list
 * (see release_deltas.h).
 */
#include "manifests/release_deltas.h"

#include <string.h>

#include "core/limits.h"
#include "core/textline.h"

struct rd {
	struct delta_list *out;
	struct mgit *git;
	struct buf blob;
	unsigned nblobs;
	int (*each)(uint64_t version, const struct mgit_oid *blob, void *ctx);
	void *ctx;
};

static int on_blob(const char *path, const struct mgit_oid *blob, void *ctx)
{
	struct rd *rd = ctx;
	const char *name = path + strlen(RELEASE_DELTAS_DIR "/");
	struct delta_list l;
	uint64_t version;
	int r;

	if (strchr(name, '/') || text_parse_u64(&version, name, strlen(name)) < 0 || version == 0)
		return err_set(-EBADMSG, "%s: not a release version", path);
	if (++rd->nblobs > LIMIT_DELTA_BLOBS)
		return err_set(-EFBIG, "%s: more than %u delta lists", RELEASE_DELTAS_DIR,
			       LIMIT_DELTA_BLOBS);
	buf_reset(&rd->blob);
	r = mgit_blob_read(&rd->blob, rd->git, blob, LIMIT_DELTA_LIST_BYTES);
	if (r == 0)
		r = delta_list_parse(&l, rd->blob.data, rd->blob.len);
	if (r < 0)
		return err_keep(r, "%s", path);
	for (size_t i = 0; r == 0 && i < l.n; i++)
		r = delta_list_add(rd->out, &l.recs[i]);
	delta_list_release(&l);
	if (r == 0 && rd->each)
		r = rd->each(version, blob, rd->ctx);
	return r;
}

int mf_release_deltas_read(struct delta_list *out, struct mgit *git, const struct mgit_oid *tree,
			   int (*each)(uint64_t version, const struct mgit_oid *blob, void *ctx),
			   void *ctx)
{
	struct rd rd = {.out = out, .git = git, .each = each, .ctx = ctx};
	int r;

	delta_list_init(out);
	buf_init(&rd.blob, LIMIT_DELTA_LIST_BYTES);
	r = mgit_tree_walk(git, tree, RELEASE_DELTAS_DIR, on_blob, &rd);
	buf_release(&rd.blob);
	if (r == -ENOENT && rd.nblobs == 0) {
		err_clear(); /* no deltas in this release */
		r = 0;
	}
	if (r < 0) {
		delta_list_release(out);
		return r;
	}
	delta_list_sort(out);
	return 0;
}
