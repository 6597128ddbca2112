/*
 * config.c — the strict parser of ferry.conf (see config.h).
 *
 * The file is copied once and cut into NUL-terminated lines in place; each
 * value is then a pointer into that copy.  Every check names the file and
 * the line, since the admin reading the journal at 07:00 has only that
 * line to go on.
 */
#include "sync/config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "manifests/head.h"
#include "sync/transport.h"
#include "sync/when.h"

struct parse {
	struct sync_config *c;
	unsigned line;
};

static int bad(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct parse *p, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(-EINVAL, "%s:%u: %s", p->c->name, p->line, what);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static char *trim(char *s)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int absolute(struct parse *p, const char *key, const char *v)
{
	if (v[0] != '/')
		return bad(p, "%s: \"%.200s\" is not an absolute path", key, v);
	if (strlen(v) >= LIMIT_PATH_BYTES)
		return bad(p, "%s: a path longer than %u bytes", key, LIMIT_PATH_BYTES);
	return 0;
}

/* "PRIORITY LOCATION" */
static int add_source(struct parse *p, char *v)
{
	struct sync_config *c = p->c;
	size_t nd = strspn(v, "0123456789");
	struct sync_config_source s = { .line = p->line };
	char *loc;

	if (nd == 0 || nd > 6 || !is_blank(v[nd]))
		return bad(p, "source: \"%.200s\" is not PRIORITY LOCATION (e.g. "
			      "\"source = 10 /media/usb\")", v);
	for (size_t i = 0; i < nd; i++)
		s.priority = s.priority * 10 + (uint32_t)(v[i] - '0');
	loc = trim(v + nd);
	if (strlen(loc) >= LIMIT_URL_BYTES)
		return bad(p, "source: a location longer than %u bytes", LIMIT_URL_BYTES);
	if (loc[0] != '/' && !strstr(loc, "://"))
		return bad(p, "source: \"%.200s\" is neither a URL (scheme://...) nor an "
			      "absolute path", loc);
	if (c->nsources == SYNC_MAX_SOURCES)
		return bad(p, "more than %d sources", SYNC_MAX_SOURCES);
	s.location = loc;
	/* Insertion keeps equal priorities in file order. */
	size_t at = c->nsources;
	while (at > 0 && c->sources[at - 1].priority > s.priority) {
		c->sources[at] = c->sources[at - 1];
		at--;
	}
	c->sources[at] = s;
	c->nsources++;
	return 0;
}

/* "CHANNEL [PATH]" */
static int add_sub(struct parse *p, char *v)
{
	struct sync_config *c = p->c;
	size_t n = strcspn(v, " \t");
	struct sync_config_sub s = { .channel = v, .line = p->line };

	if (v[n]) {
		v[n] = '\0';
		char *path = trim(v + n + 1);
		size_t pl = strlen(path);

		/* "物理/" means the folder 物理: drop final slashes (and blanks
		 * they hid). */
		while (pl > 1 && (path[pl - 1] == '/' || is_blank(path[pl - 1])))
			path[--pl] = '\0';
		s.path = path;
		if (transport_path_check(s.path, pl, false) < 0)
			return bad(p, "subscribe: path \"%.200s\" is refused: %s", s.path,
				   err_detail());
	}
	if (!mf_channel_valid(s.channel))
		return bad(p, "subscribe: \"%.200s\" is not a valid channel name", s.channel);
	if (c->nsubs == SYNC_CONFIG_MAX_SUBS)
		return bad(p, "more than %u subscriptions", SYNC_CONFIG_MAX_SUBS);
	c->subs[c->nsubs++] = s;
	return 0;
}

static int set_once(struct parse *p, struct sync_config_value *slot, const char *key,
		    const char *v)
{
	if (slot->line)
		return bad(p, "%s is set twice (first on line %u)", key, slot->line);
	slot->value = v;
	slot->line = p->line;
	return 0;
}

static int setting(struct parse *p, const char *key, char *v)
{
	struct sync_config *c = p->c;
	struct sync_window w;
	int64_t t;
	int r;

	if (strcmp(key, "source") == 0)
		return add_source(p, v);
	if (strcmp(key, "subscribe") == 0)
		return add_sub(p, v);
	if (strcmp(key, "store") == 0) {
		r = absolute(p, key, v);
		return r < 0 ? r : set_once(p, &c->store, key, v);
	}
	if (strcmp(key, "ca") == 0 || strcmp(key, "known_hosts") == 0 ||
	    strcmp(key, "identity") == 0) {
		r = absolute(p, key, v);
		if (r < 0)
			return r;
		return set_once(p, key[0] == 'c' ? &c->ca : key[0] == 'k' ? &c->known_hosts
									  : &c->identity,
				key, v);
	}
	if (strcmp(key, "bwlimit") == 0)
		return set_once(p, &c->bwlimit, key, v);
	if (strcmp(key, "window") == 0) {
		if (sync_window_parse(&w, v) < 0)
			return bad(p, "%s", err_detail());
		return set_once(p, &c->window, key, v);
	}
	if (strcmp(key, "deadline") == 0) {
		if (sync_deadline_parse(&t, v, 0) < 0)
			return bad(p, "%s", err_detail());
		return set_once(p, &c->deadline, key, v);
	}
	return bad(p, "unknown key \"%.64s\"", key);
}

static int parse_line(struct parse *p, char *s)
{
	char *eq, *key, *v;
	size_t kn;

	for (const char *q = s; *q; q++)
		if ((unsigned char)*q < 0x20 ? *q != '\t' : *q == 0x7f)
			return bad(p, "a control character (byte 0x%02x)", (unsigned char)*q);
	s = trim(s);
	if (!*s || *s == '#')
		return 0;
	eq = strchr(s, '=');
	if (!eq)
		return bad(p, "not \"key = value\"");
	*eq = '\0';
	key = trim(s);
	v = trim(eq + 1);
	kn = strlen(key);
	if (kn == 0 || kn > 32 || strspn(key, "abcdefghijklmnopqrstuvwxyz_") != kn)
		return bad(p, "\"%.64s\" is not a key", key);
	if (!*v)
		return bad(p, "%s has no value", key);
	return setting(p, key, v);
}

void sync_config_release(struct sync_config *c)
{
	mem_free(c->text);
	mem_free(c->name);
	memset(c, 0, sizeof(*c));
}

int sync_config_parse(struct sync_config *out, const char *name, const char *text, size_t len)
{
	struct parse p = { .c = out, .line = 0 };
	char *s;
	int r = 0;

	memset(out, 0, sizeof(*out));
	out->name = mem_strdup(name);
	if (!out->name)
		return -ENOMEM;
	if (len > SYNC_CONFIG_MAX_BYTES) {
		r = err_set(-EFBIG, "%s: %zu bytes, more than the limit of %u", name, len,
			    SYNC_CONFIG_MAX_BYTES);
		goto out;
	}
	if (memchr(text, '\0', len)) {
		r = err_set(-EINVAL, "%s: holds a NUL byte; not a text file", name);
		goto out;
	}
	out->text = mem_alloc(len + 1);
	if (!out->text) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(out->text, text, len);
	out->text[len] = '\0';
	for (s = out->text; r == 0 && *s;) {
		char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		p.line++;
		if (n > SYNC_CONFIG_MAX_LINE) {
			r = bad(&p, "a line longer than %u bytes", SYNC_CONFIG_MAX_LINE);
			break;
		}
		s[n] = '\0';
		if (n && s[n - 1] == '\r')
			s[n - 1] = '\0';
		r = parse_line(&p, s);
		s += n + (nl ? 1 : 0);
	}
out:
	if (r < 0)
		sync_config_release(out);
	return r;
}

int sync_config_load(struct sync_config *out, const char *path)
{
	struct buf b;
	int r;

	memset(out, 0, sizeof(*out));
	buf_init(&b, SYNC_CONFIG_MAX_BYTES);
	r = fs_read_file(&b, path, SYNC_CONFIG_MAX_BYTES);
	if (r == -ENOENT)
		r = err_set(-ENOENT, "%s: no such configuration file", path);
	else if (r == -EFBIG)
		r = err_set(-EFBIG, "%s: larger than %u bytes", path, SYNC_CONFIG_MAX_BYTES);
	else if (r < 0 && !err_detail()[0])
		r = err_set(r, "%s: %s", path, strerror(-r));
	if (r == 0)
		r = sync_config_parse(out, path, (const char *)b.data, b.len);
	buf_release(&b);
	return r;
}
