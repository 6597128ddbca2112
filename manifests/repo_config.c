/*
 * repo_config.c — reading and writing ferry.json (see repo_config.h).
 */
#include "manifests/repo_config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/codec_text.h"
#include "core/crypto.h"
#include "core/json_read.h"
#include "core/json_write.h"
#include "core/limits.h"
#include "core/mem.h"

int repo_config_new(struct repo_config *out)
{
	uint8_t id[REPO_ID_HEX / 2];
	int r;

	memset(out, 0, sizeof(*out));
	r = crypto_random(id, sizeof(id));
	if (r < 0)
		return r;
	hex_encode(out->id, id, sizeof(id));
	out->created = (int64_t)time(NULL);
	chunker_params_default(&out->chunker);
	out->level = 3;
	out->pack_max = LIMIT_PACK_DEFAULT_BYTES;
	return 0;
}

int repo_config_add_key(struct repo_config *c, const char *line)
{
	if (c->nkeys == REPO_MAX_KEYS)
		return err_set(-EFBIG, "a repository trusts at most %d keys", REPO_MAX_KEYS);
	for (size_t i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i], line) == 0)
			return 0;
	c->keys[c->nkeys] = mem_strdup(line);
	if (!c->keys[c->nkeys])
		return -ENOMEM;
	c->nkeys++;
	return 0;
}

void repo_config_release(struct repo_config *c)
{
	for (size_t i = 0; i < c->nkeys; i++)
		mem_free(c->keys[i]);
	c->nkeys = 0;
}

int repo_config_format(struct buf *out, const struct repo_config *c)
{
	char seed[17];
	struct jw w;

	snprintf(seed, sizeof(seed), "%016llx", (unsigned long long)c->chunker.seed);
	jw_init(&w, out);
	jw_obj_begin(&w);
	jw_key(&w, "format");
	jw_str(&w, "ferry-repository");
	jw_key(&w, "version");
	jw_u64(&w, REPO_CONFIG_VERSION);
	jw_key(&w, "id");
	jw_str(&w, c->id);
	jw_key(&w, "created");
	jw_i64(&w, c->created);
	jw_key(&w, "chunker");
	jw_obj_begin(&w);
	jw_key(&w, "algorithm");
	jw_str(&w, "fastcdc");
	jw_key(&w, "min");
	jw_u64(&w, c->chunker.min);
	jw_key(&w, "avg");
	jw_u64(&w, c->chunker.avg);
	jw_key(&w, "max");
	jw_u64(&w, c->chunker.max);
	jw_key(&w, "normalization");
	jw_u64(&w, c->chunker.normalization);
	jw_key(&w, "seed");
	jw_str(&w, seed);
	jw_obj_end(&w);
	jw_key(&w, "compression");
	jw_obj_begin(&w);
	jw_key(&w, "algorithm");
	jw_str(&w, "zstd");
	jw_key(&w, "level");
	jw_i64(&w, c->level);
	jw_obj_end(&w);
	jw_key(&w, "pack_max_bytes");
	jw_u64(&w, c->pack_max);
	jw_key(&w, "keys");
	jw_arr_begin(&w);
	for (size_t i = 0; i < c->nkeys; i++)
		jw_str(&w, c->keys[i]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	if (jw_error(&w) < 0)
		return jw_error(&w);
	return buf_append_str(out, "\n");
}

static int get_u32(uint32_t *out, const struct json_node *o, const char *key)
{
	int64_t v;
	int r = json_get_int(&v, o, key);

	if (r < 0)
		return r;
	if (v < 0 || v > UINT32_MAX)
		return err_set(-EBADMSG, "ferry.json: \"%s\" out of range", key);
	*out = (uint32_t)v;
	return 0;
}

static int parse_chunker(struct repo_config *c, const struct json_node *ch)
{
	const char *s;
	struct chunker tmp;
	uint64_t seed = 0;
	int r;

	if (json_get_str(&s, ch, "algorithm") < 0 || strcmp(s, "fastcdc") != 0)
		return err_set(-EBADMSG, "ferry.json: unknown chunker");
	r = get_u32(&c->chunker.min, ch, "min");
	if (r == 0)
		r = get_u32(&c->chunker.avg, ch, "avg");
	if (r == 0)
		r = get_u32(&c->chunker.max, ch, "max");
	if (r == 0)
		r = get_u32(&c->chunker.normalization, ch, "normalization");
	if (r == 0)
		r = json_get_str(&s, ch, "seed");
	if (r < 0)
		return r;
	if (strlen(s) != 16)
		return err_set(-EBADMSG, "ferry.json: chunker seed must be 16 hex digits");
	for (int i = 0; i < 16; i++) {
		uint8_t b;

		if (hex_decode(&b, 1, (const char[]){ '0', s[i] }, 2) < 0)
			return err_set(-EBADMSG, "ferry.json: chunker seed is not hex");
		seed = seed << 4 | b;
	}
	c->chunker.seed = seed;
	if (chunker_init(&tmp, &c->chunker) < 0)
		return err_set(-EBADMSG, "ferry.json: %s", err_detail());
	return 0;
}

static int parse_body(struct repo_config *c, const struct json_node *root)
{
	const struct json_node *keys, *comp;
	const char *s;
	int64_t v;
	int r;

	if (json_get_str(&s, root, "format") < 0 || strcmp(s, "ferry-repository") != 0)
		return err_set(-EBADMSG, "ferry.json: not a ferry repository");
	if (json_get_int(&v, root, "version") < 0 || v != REPO_CONFIG_VERSION)
		return err_set(-EBADMSG, "ferry.json: unsupported format version");
	if (json_get_str(&s, root, "id") < 0 || strlen(s) != REPO_ID_HEX ||
	    strspn(s, "0123456789abcdef") != REPO_ID_HEX)
		return err_set(-EBADMSG, "ferry.json: bad repository id");
	memcpy(c->id, s, REPO_ID_HEX + 1);
	r = json_get_int(&c->created, root, "created");
	if (r == 0)
		r = parse_chunker(c, json_get(root, "chunker"));
	if (r < 0)
		return r;
	comp = json_get(root, "compression");
	if (json_get_str(&s, comp, "algorithm") < 0 || strcmp(s, "zstd") != 0 ||
	    json_get_int(&v, comp, "level") < 0 || v < 1 || v > 19)
		return err_set(-EBADMSG, "ferry.json: bad compression settings");
	c->level = (int)v;
	if (json_get_int(&v, root, "pack_max_bytes") < 0 || v < (1 << 20) ||
	    (uint64_t)v > LIMIT_PACK_BYTES)
		return err_set(-EBADMSG, "ferry.json: bad pack_max_bytes");
	c->pack_max = (uint64_t)v;
	keys = json_get(root, "keys");
	if (!keys || keys->type != JSON_ARRAY)
		return err_set(-EBADMSG, "ferry.json: \"keys\" missing");
	for (const struct json_node *k = keys->child; k; k = k->next) {
		if (k->type != JSON_STRING || k->len > 1024)
			return err_set(-EBADMSG, "ferry.json: a key is not a string");
		r = repo_config_add_key(c, k->str);
		if (r < 0)
			return r;
	}
	return 0;
}

int repo_config_parse(struct repo_config *out, const void *text, size_t n)
{
	struct json_doc *d;
	int r;

	memset(out, 0, sizeof(*out));
	if (n > LIMIT_CONFIG_BYTES)
		return err_set(-EFBIG, "ferry.json: too large");
	r = json_parse(&d, text, n);
	if (r < 0)
		return err_set(r, "ferry.json: %s", err_detail());
	r = parse_body(out, json_root(d));
	json_free(d);
	if (r < 0)
		repo_config_release(out);
	return r;
}
