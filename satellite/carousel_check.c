/*
 * carousel_check.c — what the receiver checks before a decoded file enters
 * the drop.
 *
 * The file table is not signed, so it is only a hint: a location must be a
 * path a ferry repository holds, of a size within that file's limit,
 * before a single symbol of it is spooled; and the decoded bytes already
 * match the SHA-256 the table gave.  Then, per kind of file, what can be
 * checked without the store: a pack's name is the SHA-256 of its bytes
 * (so the table's hash and the name must agree); a head carries an sshsig
 * by one of the store's trusted keys; ferry.json is signed by the
 * ferry.json.sig beside it.  The rest (git packs and lists, pack indexes,
 * packs/list) are checked by `ferry sync` when it reads the drop, which
 * verifies everything again anyway.
 */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/catalog.h"
#include "manifests/head.h"
#include "manifests/repo.h"
#include "manifests/sshsig.h"
#include "satellite/carousel_recv.h"

#define HEX64 "0123456789abcdef"

static bool is_hex(const char *s, size_t n)
{
	return strspn(s, HEX64) >= n;
}

/* packs/<xx>/<64 hex>.pack or .idx; *is_pack tells which. */
static bool pack_path(const char *loc, bool *is_pack)
{
	const char *p = loc + strlen(REPO_PACKS_DIR "/");
	size_t n = strlen(loc) - strlen(REPO_PACKS_DIR "/");

	if ((n != 3 + 64 + 5 && n != 3 + 64 + 4) || !is_hex(p, 2) || p[2] != '/' ||
	    !is_hex(p + 3, 64) || memcmp(p, p + 3, 2) != 0)
		return false;
	*is_pack = strcmp(p + 67, ".pack") == 0;
	return *is_pack || strcmp(p + 67, ".idx") == 0;
}

int sat_check_location(const char *loc, uint64_t length)
{
	bool is_pack;
	uint64_t max = 0;

	if (mf_path_check(loc, strlen(loc)) < 0)
		return err_set(-EBADMSG, "%s: not a valid path", loc);
	if (strcmp(loc, REPO_CONFIG_FILE) == 0)
		max = LIMIT_CONFIG_BYTES;
	else if (strcmp(loc, REPO_CONFIG_SIG_FILE) == 0)
		max = LIMIT_SIGNATURE_BYTES;
	else if (strncmp(loc, REPO_HEADS_DIR "/", 6) == 0 && mf_channel_valid(loc + 6))
		max = LIMIT_HEAD_BYTES;
	else if (strncmp(loc, REPO_GIT_DIR "/", strlen(REPO_GIT_DIR) + 1) == 0)
		max = LIMIT_GIT_PACK_BYTES;
	else if (strcmp(loc, REPO_PACKS_DIR "/list") == 0)
		max = LIMIT_LIST_ENTRIES * 80ull;
	else if (strncmp(loc, REPO_PACKS_DIR "/", 6) == 0 && pack_path(loc, &is_pack))
		max = is_pack ? LIMIT_PACK_BYTES : LIMIT_PACK_BYTES / 8;
	if (max == 0)
		return err_set(-EBADMSG, "%s: not a file a ferry repository holds", loc);
	if (length > max)
		return err_set(-EFBIG, "%s: %llu bytes, more than the %llu such a file may have", loc,
			       (unsigned long long)length, (unsigned long long)max);
	return 0;
}

static int check_config(const char *loc, const struct buf *file, const char *drop,
			const struct ssh_pubkey *keys, size_t nkeys)
{
	AUTO_FREE char *sigpath = fs_join(drop, REPO_CONFIG_SIG_FILE);
	struct buf sig;
	size_t which;
	int r;

	if (!sigpath)
		return -ENOMEM;
	buf_init(&sig, LIMIT_SIGNATURE_BYTES);
	r = fs_read_file(&sig, sigpath, LIMIT_SIGNATURE_BYTES);
	if (r == 0)
		r = sshsig_verify(&which, keys, nkeys, REPO_CONFIG_NAMESPACE, buf_str(&sig),
				  sig.len, file->data, file->len);
	buf_release(&sig);
	if (r < 0) /* the matching signature may still be on its way */
		return err_set(-EAGAIN, "%s: waiting for a %s that signs it (%s)", loc,
			       REPO_CONFIG_SIG_FILE, err_text(r));
	return 0;
}

int sat_check_file(const char *loc, const char *path, const uint8_t sha256[32],
		   const char *drop, const struct ssh_pubkey *keys, size_t nkeys)
{
	char hex[2 * 32 + 1];
	struct sshsig_info info;
	struct mf_head head;
	struct buf file;
	size_t which;
	bool is_pack;
	int r = 0;

	if (strncmp(loc, REPO_PACKS_DIR "/", 6) == 0 && pack_path(loc, &is_pack)) {
		if (!is_pack)
			return 0;
		hex_encode(hex, sha256, 32);
		if (memcmp(hex, loc + strlen(REPO_PACKS_DIR "/") + 3, 64) != 0)
			return err_set(-EBADMSG, "%s: its bytes hash to %s, not its name", loc, hex);
		return 0;
	}
	buf_init(&file, LIMIT_CONFIG_BYTES);
	if (strcmp(loc, REPO_CONFIG_FILE) == 0 || strcmp(loc, REPO_CONFIG_SIG_FILE) == 0 ||
	    strncmp(loc, REPO_HEADS_DIR "/", 6) == 0)
		r = fs_read_file(&file, path, LIMIT_CONFIG_BYTES);
	if (r == 0 && strcmp(loc, REPO_CONFIG_FILE) == 0)
		r = check_config(loc, &file, drop, keys, nkeys);
	else if (r == 0 && strcmp(loc, REPO_CONFIG_SIG_FILE) == 0)
		r = sshsig_parse(&info, buf_str(&file), file.len);
	else if (r == 0 && strncmp(loc, REPO_HEADS_DIR "/", 6) == 0)
		r = mf_head_verify(&head, &which, file.data, file.len, keys, nkeys);
	buf_release(&file);
	if (r < 0 && r != -EAGAIN) {
		char why[512];

		snprintf(why, sizeof(why), "%s", err_detail());
		return err_set(r, "%s: refused: %s", loc, why);
	}
	return r;
}
