/*
 * usb_request.c — the school's request file: what it has, what it wants.
 *
 *     {"format":"ferry-usb-request","version":1,
 *      "repo":"<32 hex>","created":<unix seconds>,
 *      "channels":[{"name":"renjiao/grade7/math","installed":3,
 *                   "commit":"<40 hex or empty>","pending":4,
 *                   "missing_bytes":123,"paths":["七年级/"]}]}
 *
 * It comes back from a stick that went through other hands, so the parser
 * takes nothing on faith: a known format, only known members, each of its
 * type and range, names checked as the store checks them.  A wrong answer
 * in a valid request costs at most a stick that holds too much or too
 * little; the school verifies every byte it imports against signed data.
 */
#include <stdio.h>
#include <string.h>

#include "core/json_read.h"
#include "core/json_write.h"
#include "core/mem.h"
#include "manifests/head.h"
#include "manifests/mgit.h"
#include "sync/usb.h"

void usb_request_release(struct usb_request *r)
{
	for (size_t i = 0; i < r->n && i < USB_REQUEST_MAX_CHANNELS; i++)
		for (size_t k = 0; k < r->ch[i].npaths && k < USB_REQUEST_MAX_PATHS; k++)
			mem_free(r->ch[i].paths[k]);
	memset(r, 0, sizeof(*r));
}

static struct usb_request_channel *find(struct usb_request *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->ch[i].name, name) == 0)
			return &r->ch[i];
	return NULL;
}

static int add_sub(const struct db_subscription *s, void *ctx)
{
	struct usb_request *r = ctx;
	struct usb_request_channel *c = find(r, s->channel);

	if (!c) {
		if (r->n == USB_REQUEST_MAX_CHANNELS)
			return err_set(-EFBIG, "more than %u subscribed channels",
				       USB_REQUEST_MAX_CHANNELS);
		c = &r->ch[r->n++];
		snprintf(c->name, sizeof(c->name), "%s", s->channel);
	}
	if (s->path && c->npaths < USB_REQUEST_MAX_PATHS) {
		c->paths[c->npaths] = mem_strdup(s->path);
		if (!c->paths[c->npaths])
			return -ENOMEM;
		c->npaths++;
	}
	return 0;
}

int usb_request_from_store(struct usb_request *out, struct store *st, int64_t now)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (!st->has_config)
		return err_set(-ENOENT, "this store has not synced anything yet, so it does not "
					"know its repository: sync it once first");
	snprintf(out->repo, sizeof(out->repo), "%s", st->cfg.id);
	out->created = now;
	r = db_subscription_foreach(st->db, add_sub, out);
	for (size_t i = 0; r >= 0 && i < out->n; i++) {
		struct usb_request_channel *c = &out->ch[i];
		struct db_channel dc;
		struct db_pending p;

		r = db_channel_get(&dc, st->db, c->name);
		if (r == 0) {
			c->installed = dc.version;
			memcpy(c->commit, dc.commit, sizeof(c->commit));
			db_channel_release(&dc);
		}
		if (r == -ENOENT)
			r = 0;
		if (r == 0 && db_pending_get(&p, st->db, c->name) == 0) {
			c->pending = p.version;
			c->missing_bytes = p.bytes_missing;
		}
	}
	if (r < 0)
		usb_request_release(out);
	return r < 0 ? r : 0;
}

int usb_request_format(struct buf *out, const struct usb_request *r)
{
	struct jw w;

	jw_init(&w, out);
	jw_obj_begin(&w);
	jw_key(&w, "format");
	jw_str(&w, USB_REQUEST_FORMAT);
	jw_key(&w, "version");
	jw_u64(&w, USB_REQUEST_VERSION);
	jw_key(&w, "repo");
	jw_str(&w, r->repo);
	jw_key(&w, "created");
	jw_i64(&w, r->created);
	jw_key(&w, "channels");
	jw_arr_begin(&w);
	for (size_t i = 0; i < r->n; i++) {
		const struct usb_request_channel *c = &r->ch[i];

		jw_obj_begin(&w);
		jw_key(&w, "name");
		jw_str(&w, c->name);
		jw_key(&w, "installed");
		jw_u64(&w, c->installed);
		jw_key(&w, "commit");
		jw_str(&w, c->commit);
		jw_key(&w, "pending");
		jw_u64(&w, c->pending);
		jw_key(&w, "missing_bytes");
		jw_u64(&w, c->missing_bytes);
		jw_key(&w, "paths");
		jw_arr_begin(&w);
		for (size_t k = 0; k < c->npaths; k++)
			jw_str(&w, c->paths[k]);
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	if (jw_error(&w) < 0)
		return jw_error(&w);
	return buf_append_byte(out, '\n');
}

/* ---- parsing -------------------------------------------------------------- */

static bool only_members(const struct json_node *o, const char *const *names, size_t n)
{
	for (const struct json_node *m = o->child; m; m = m->next) {
		size_t i;

		for (i = 0; i < n && strcmp(m->key, names[i]) != 0; i++)
			;
		if (i == n) {
			err_set(-EBADMSG, "request: unknown member \"%.64s\"", m->key);
			return false;
		}
		for (const struct json_node *k = m->next; k; k = k->next)
			if (strcmp(k->key, m->key) == 0) {
				err_set(-EBADMSG, "request: member \"%.64s\" twice", m->key);
				return false;
			}
	}
	return true;
}

static bool hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int get_u64(uint64_t *out, const struct json_node *o, const char *key)
{
	int64_t v;

	if (json_get_int(&v, o, key) < 0 || v < 0)
		return err_set(-EBADMSG, "request: \"%s\" must be a number >= 0", key);
	*out = (uint64_t)v;
	return 0;
}

static int parse_paths(struct usb_request_channel *c, const struct json_node *a)
{
	if (!a || a->type != JSON_ARRAY)
		return err_set(-EBADMSG, "request: channel %s: \"paths\" must be a list", c->name);
	if (a->len > USB_REQUEST_MAX_PATHS)
		return err_set(-EBADMSG, "request: channel %s: more than %u paths", c->name,
			       USB_REQUEST_MAX_PATHS);
	for (const struct json_node *p = a->child; p; p = p->next) {
		if (p->type != JSON_STRING || p->len == 0 || p->len > LIMIT_PATH_BYTES ||
		    strlen(p->str) != p->len)
			return err_set(-EBADMSG, "request: channel %s: a path is not a string",
				       c->name);
		/* A prefix may end in '/'; the rest must be a valid release path. */
		AUTO_FREE char *t = mem_strndup(p->str, p->len - (p->str[p->len - 1] == '/'));

		if (!t)
			return -ENOMEM;
		if (mgit_path_check(t) < 0)
			return err_set(-EBADMSG, "request: channel %s: path is not valid", c->name);
		c->paths[c->npaths] = mem_strdup(p->str);
		if (!c->paths[c->npaths])
			return -ENOMEM;
		c->npaths++;
	}
	return 0;
}

static int parse_channel(struct usb_request *r, const struct json_node *o)
{
	static const char *const names[] = {"name",    "installed",	"commit",
					    "pending", "missing_bytes", "paths"};
	struct usb_request_channel *c = &r->ch[r->n];
	const char *name, *commit;
	int e;

	if (o->type != JSON_OBJECT)
		return err_set(-EBADMSG, "request: a channel is not an object");
	if (!only_members(o, names, ARRAY_SIZE(names)))
		return -EBADMSG;
	if (json_get_str(&name, o, "name") < 0 || strlen(name) > LIMIT_CHANNEL_BYTES ||
	    !mf_channel_valid(name))
		return err_set(-EBADMSG, "request: a channel name is missing or not valid");
	if (find(r, name))
		return err_set(-EBADMSG, "request: channel %s is listed twice", name);
	r->n++; /* from here on c's paths are released with r */
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (json_get_str(&commit, o, "commit") < 0 ||
	    (commit[0] &&
	     (strlen(commit) != DB_COMMIT_HEX_LEN || !hex_lower(commit, DB_COMMIT_HEX_LEN))))
		return err_set(-EBADMSG,
			       "request: channel %s: \"commit\" must be 40 hex digits "
			       "or empty",
			       name);
	memcpy(c->commit, commit, strlen(commit) + 1);
	if ((e = get_u64(&c->installed, o, "installed")) < 0 ||
	    (e = get_u64(&c->pending, o, "pending")) < 0 ||
	    (e = get_u64(&c->missing_bytes, o, "missing_bytes")) < 0)
		return e;
	if ((c->installed == 0) != (c->commit[0] == 0))
		return err_set(-EBADMSG,
			       "request: channel %s: an installed version needs its "
			       "commit, and only then",
			       name);
	return parse_paths(c, json_get(o, "paths"));
}

static int parse_doc(struct usb_request *out, const struct json_node *root)
{
	static const char *const names[] = {"format", "version", "repo", "created", "channels"};
	const struct json_node *chans;
	const char *s;
	int64_t v;
	int e;

	if (root->type != JSON_OBJECT)
		return err_set(-EBADMSG, "request: not a JSON object");
	if (!only_members(root, names, ARRAY_SIZE(names)))
		return -EBADMSG;
	if (json_get_str(&s, root, "format") < 0 || strcmp(s, USB_REQUEST_FORMAT) != 0)
		return err_set(-EBADMSG, "request: not a ferry USB request");
	if (json_get_int(&v, root, "version") < 0 || v != USB_REQUEST_VERSION)
		return err_set(-EBADMSG, "request: version is not %d", USB_REQUEST_VERSION);
	if (json_get_str(&s, root, "repo") < 0 || strlen(s) != 32 || !hex_lower(s, 32))
		return err_set(-EBADMSG, "request: \"repo\" must be 32 hex digits");
	memcpy(out->repo, s, 33);
	if (json_get_int(&out->created, root, "created") < 0 || out->created < 0)
		return err_set(-EBADMSG, "request: \"created\" must be a time");
	chans = json_get(root, "channels");
	if (!chans || chans->type != JSON_ARRAY)
		return err_set(-EBADMSG, "request: \"channels\" must be a list");
	if (chans->len > USB_REQUEST_MAX_CHANNELS)
		return err_set(-EBADMSG, "request: more than %u channels",
			       USB_REQUEST_MAX_CHANNELS);
	for (const struct json_node *c = chans->child; c; c = c->next)
		if ((e = parse_channel(out, c)) < 0)
			return e;
	return 0;
}

int usb_request_parse(struct usb_request *out, const void *p, size_t n)
{
	struct json_doc *d = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (n > USB_REQUEST_MAX_BYTES)
		return err_set(-EFBIG, "request: larger than %u bytes", USB_REQUEST_MAX_BYTES);
	r = json_parse(&d, p, n);
	if (r < 0)
		return r == -ENOMEM ? r : err_keep(-EBADMSG, "request: not JSON");
	r = parse_doc(out, json_root(d));
	json_free(d);
	if (r < 0)
		usb_request_release(out);
	return r;
}
