/*
 * verify_deltas.c — `ferry verify` on a release's meta/deltas/: every
 * blob parses strictly (release_deltas.h, packager/delta.h), and every
 * delta listed is an entry of type PACK_ENTRY_DELTA, of the listed sizes,
 * in one of the release's packs.  The entries' bytes themselves are checked with every pack
 * (pack_verify(): hash of the stored bytes, one frame of the target's
 * size); only a school applying a delta has the base to go further.
 */
#include <stdio.h>
#include <string.h>

#include "core/codec_text.h"
#include "core/limits.h"
#include "manifests/release_deltas.h"
#include "manifests/verify_int.h"
#include "packager/delta.h"

static bool delta_in_packs(const struct delta_rec *d, struct pack_index **packs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pack_entry e;

		if (pack_index_find(&e, packs[i], &d->id) == 0)
			return e.type == PACK_ENTRY_DELTA && e.stored_len == d->size &&
			       e.raw_len == d->target_size;
	}
	return false;
}

void vfy_check_deltas(struct vfy *v, struct mgit *git, const char *channel,
		      const struct mgit_oid *tree, struct pack_index **packs, size_t npacks,
		      bool any_pack)
{
	struct delta_list l;
	char hex[2 * SHA256_LEN + 1];

	if (mf_release_deltas_read(&l, git, tree, NULL, NULL) < 0) {
		vfy_report(v, "%s: %s", channel, err_detail());
		return;
	}
	for (size_t i = 0; !any_pack && i < l.n; i++) {
		if (delta_in_packs(&l.recs[i], packs, npacks))
			continue;
		hex_encode(hex, l.recs[i].id.b, SHA256_LEN);
		vfy_report(v, "%s: meta/deltas: delta %s is in none of the release's packs",
			   channel, hex);
	}
	delta_list_release(&l);
}
