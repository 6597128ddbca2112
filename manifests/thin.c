/*
 * thin.c — thin manifest packs beside the full ones (see thin.h).
 */
#include "manifests/thin.h"

#include <stdio.h>
#include <string.h>

#include "core/fsx.h"
#include "core/mem.h"

int thin_publish(const char *repo_root, struct mgit *g, const char *pack,
		 const struct mgit_oid *commit, const struct mgit_oid *base)
{
	AUTO_FREE char *dir = fs_join(repo_root, THIN_DIR);
	AUTO_FREE char *p = dir ? fs_join(dir, pack) : NULL;
	char line[THIN_BASE_BYTES + 1], bh[MGIT_OID_HEX + 1], ch[MGIT_OID_HEX + 1];
	struct mgit_thin_stats st;
	size_t n;
	int r;

	if (!p)
		return -ENOMEM;
	n = strlen(p);
	r = fs_mkdir_p(dir, 0755);
	if (r == 0)
		r = mgit_thin_pack_write(&st, g, commit, base, p);
	if (r < 0)
		return err_set(r, "thin pack %s: %s", pack, err_detail());
	/* "pack-<h>.pack" -> "pack-<h>.base", written after the pack. */
	if (n < 5 || strcmp(p + n - 5, ".pack") != 0)
		return err_set(-EINVAL, "%s: not a pack name", pack);
	memcpy(p + n - 5, THIN_BASE_SUFFIX, 5);
	mgit_oid_fmt(bh, base);
	mgit_oid_fmt(ch, commit);
	snprintf(line, sizeof(line), "%s %s\n", bh, ch);
	return fs_write_atomic(p, line, strlen(line));
}

int thin_base_parse(struct mgit_oid *base, struct mgit_oid *commit, const void *p, size_t n)
{
	char hex[MGIT_OID_HEX + 1];
	const char *s = p;

	if (n != THIN_BASE_BYTES || s[MGIT_OID_HEX] != ' ' || s[n - 1] != '\n')
		return err_set(-EBADMSG, "a thin pack's base file is malformed");
	memcpy(hex, s, MGIT_OID_HEX);
	hex[MGIT_OID_HEX] = '\0';
	if (mgit_oid_parse(base, hex) < 0)
		return err_set(-EBADMSG, "a thin pack's base commit is malformed");
	memcpy(hex, s + MGIT_OID_HEX + 1, MGIT_OID_HEX);
	if (mgit_oid_parse(commit, hex) < 0)
		return err_set(-EBADMSG, "a thin pack's release commit is malformed");
	return 0;
}
