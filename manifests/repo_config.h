/*
 * repo_config.h — ferry.json, the one file that says what a repository is.
 *
 *     {"format":"ferry-repository","version":1,"id":"<32 hex>",
 *      "created":<unix seconds>,
 *      "chunker":{"algorithm":"fastcdc","min":16384,"avg":65536,
 *                 "max":262144,"normalization":2,"seed":"<16 hex>"},
 *      "compression":{"algorithm":"zstd","level":3},
 *      "pack_max_bytes":67108864,
 *      "keys":["ssh-ed25519 AAAA... county-center"]}
 *
 * The chunker parameters are part of the format: every publisher of the
 * repository must cut the same way or dedupe is lost.  "keys" are the
 * root keys whose signatures the repository's heads and releases carry.
 * The file is signed (ferry.json.sig, sshsig namespace "ferry-repo") by
 * one of its own keys at the first publish, since `repo init` is given
 * only public keys.  A school that trusts a key checks the signature and
 * then takes the chunker parameters from here.
 */
#ifndef FERRY_MANIFESTS_REPO_CONFIG_H
#define FERRY_MANIFESTS_REPO_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "packager/chunker.h"

#define REPO_CONFIG_VERSION 1
#define REPO_MAX_KEYS 16
#define REPO_ID_HEX 32

struct repo_config {
	char id[REPO_ID_HEX + 1];
	int64_t created;
	struct chunker_params chunker;
	int level;
	uint64_t pack_max;
	size_t nkeys;
	char *keys[REPO_MAX_KEYS]; /* "ssh-ed25519 <base64> [comment]", owned */
};

/* Defaults for a new repository, with a fresh random id. */
int repo_config_new(struct repo_config *out) FERRY_MUST_USE;
int repo_config_add_key(struct repo_config *c, const char *line) FERRY_MUST_USE;
void repo_config_release(struct repo_config *c);
int repo_config_format(struct buf *out, const struct repo_config *c) FERRY_MUST_USE;
/* Strict: known format and version, every field present and in range
 * (chunker parameters are checked by chunker_init's rules). */
int repo_config_parse(struct repo_config *out, const void *text, size_t n) FERRY_MUST_USE;

#endif
