/*
 * carousel_prio.c — which content packs go on the air first (see
 * carousel.h, sat_prio_load()).
 *
 * No receiver can say what it subscribes to, so the county names the
 * channels most of its schools take (`ferry sat send --first CHANNEL`,
 * most-subscribed first).  The packs of each named channel's current
 * release (its signed tree's meta/packs, read from the repository's own
 * manifests.git) get that channel's rank; every other pack comes after,
 * newest first.
 */
#include "satellite/carousel.h"

#include <stdio.h>
#include <string.h>

#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/mgit.h"
#include "packager/pack_list.h"

struct adding {
	struct sat_prio *p;
	int rank;
};

static int add(const struct sha256 *name, uint64_t size, void *ctx)
{
	struct adding *a = ctx;
	struct sat_prio *p = a->p;

	(void)size;
	for (size_t i = 0; i < p->n; i++)
		if (memcmp(p->v[i].name.b, name->b, SHA256_LEN) == 0)
			return 0; /* an earlier channel ranks it already */
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		void *v = mem_realloc(p->v, cap * sizeof(*p->v));

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n].name = *name;
	p->v[p->n].rank = a->rank;
	p->n++;
	return 0;
}

/* The packs of channel's current release, with rank. */
static int load_channel(struct sat_prio *p, struct mgit *g, const char *channel, int rank)
{
	struct adding a = { .p = p, .rank = rank };
	struct mgit_commit c = { 0 };
	struct mgit_oid head, blob;
	char ref[LIMIT_CHANNEL_BYTES + 16];
	struct buf b;
	int r;

	if (snprintf(ref, sizeof(ref), "refs/heads/%s", channel) >= (int)sizeof(ref))
		return err_set(-EINVAL, "channel name too long: %s", channel);
	r = mgit_ref_read(&head, g, ref);
	if (r == -ENOENT)
		return err_set(-ENOENT, "the repository has no channel %s", channel);
	if (r == 0)
		r = mgit_commit_read(&c, g, &head);
	if (r == 0)
		r = mgit_tree_get(&blob, g, &c.tree, "meta/packs");
	mgit_commit_release(&c);
	if (r < 0)
		return r;
	buf_init(&b, LIMIT_POINTER_BYTES);
	r = mgit_blob_read(&b, g, &blob, LIMIT_POINTER_BYTES);
	if (r == 0)
		r = pack_list_parse(b.data, b.len, add, &a);
	buf_release(&b);
	return r < 0 ? err_set(r, "%s: meta/packs: %s", channel, err_detail()) : 0;
}

int sat_prio_load(struct sat_prio *out, const char *root, const char *const *channels, size_t n)
{
	AUTO_FREE char *gitdir = n ? fs_join(root, "manifests.git") : NULL;
	struct mgit *g = NULL;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	if (!gitdir)
		return -ENOMEM;
	r = mgit_open(&g, gitdir);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = load_channel(out, g, channels[i], (int)i);
	mgit_free(g);
	if (r < 0)
		sat_prio_release(out);
	return r;
}

int sat_prio_rank(const struct sat_prio *p, const struct sha256 *pack)
{
	for (size_t i = 0; i < p->n; i++)
		if (memcmp(p->v[i].name.b, pack->b, SHA256_LEN) == 0)
			return p->v[i].rank;
	return -1;
}

void sat_prio_release(struct sat_prio *p)
{
	mem_free(p->v);
	memset(p, 0, sizeof(*p));
}
