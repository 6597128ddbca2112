/*
 * verify_int.h — state shared by the two halves of `ferry verify`:
 * verify_packs.c (packs and indexes) and verify.c (config, git, heads,
 * releases, chunk table).
 */
#ifndef FERRY_MANIFESTS_VERIFY_INT_H
#define FERRY_MANIFESTS_VERIFY_INT_H

#include "manifests/mgit.h"
#include "manifests/verify.h"
#include "packager/pack.h"

struct vfy {
	struct mf_verify_stats *stats;
	int (*problem)(const char *line, void *ctx);
	void *ctx;
	const char *packs_dir;
	struct pack_index **idx; /* every loadable index, sorted by pack name */
	mf_verify_held_fn held;  /* a narrowed store: which files it holds */
	void *held_ctx;
	size_t nidx, capidx;
};

void vfy_report(struct vfy *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Verifies every pack under packs_dir and loads the indexes. */
int vfy_packs(struct vfy *v, const char *packs_dir) FERRY_MUST_USE;
/* The loaded index of a pack, or NULL. */
struct pack_index *vfy_index(struct vfy *v, const struct sha256 *name);
void vfy_release(struct vfy *v);
/* verify_deltas.c: a release's meta/deltas against its packs (any_pack: a
 * school store, which keeps no deltas: the list is only parsed). */
void vfy_check_deltas(struct vfy *v, struct mgit *git, const char *channel,
		      const struct mgit_oid *tree, struct pack_index **packs, size_t npacks,
		      bool any_pack);

#endif
