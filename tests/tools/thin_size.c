/*
 * thin_size.c — what mgit_thin_pack_write() makes of one release:
 *
 *   thin_size GITDIR COMMIT BASE OUT.pack
 *
 * writes COMMIT as a thin pack against BASE (both 40-hex commit IDs in the
 * manifest repository GITDIR) and prints "bytes B objects N deltas D".
 * For measuring (docs/manifests-git.md, "Thin packs").
 */
#include <stdio.h>

#include "core/err.h"
#include "manifests/mgit.h"

int main(int argc, char **argv)
{
	struct mgit_oid c, b;
	struct mgit_thin_stats st;
	struct mgit *g;
	int r;

	if (argc != 5) {
		fprintf(stderr, "usage: thin_size GITDIR COMMIT BASE OUT.pack\n");
		return 2;
	}
	r = mgit_oid_parse(&c, argv[2]);
	if (r >= 0)
		r = mgit_oid_parse(&b, argv[3]);
	if (r >= 0)
		r = mgit_open(&g, argv[1]);
	if (r >= 0) {
		r = mgit_thin_pack_write(&st, g, &c, &b, argv[4]);
		mgit_free(g);
	}
	if (r < 0) {
		fprintf(stderr, "thin_size: %s\n", err_detail());
		return 1;
	}
	printf("bytes %llu objects %llu deltas %llu\n", (unsigned long long)st.bytes,
	       (unsigned long long)st.objects, (unsigned long long)st.deltas);
	return 0;
}
