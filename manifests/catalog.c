/*
 * catalog.c — validating the catalog sidecar and release paths.
 */
#include "manifests/catalog.h"

#include <string.h>

#include "core/limits.h"
#include "core/textline.h"
#include "packager/tree_walk.h"

int mf_path_check(const char *path, size_t len)
{
	char name[LIMIT_NAME_BYTES + 1];
	size_t start = 0, depth = 0;

	if (len == 0 || len > LIMIT_PATH_BYTES || memchr(path, '\0', len))
		return err_set(-EBADMSG, "path is empty, too long or holds NUL");
	if (path[0] == '/')
		return err_set(-EBADMSG, "absolute path \"%.*s\"", (int)len, path);
	for (size_t i = 0; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		if (i - start > LIMIT_NAME_BYTES || ++depth > LIMIT_PATH_DEPTH)
			return err_set(-EBADMSG, "path \"%.*s\" is too deep or a name too long",
				       (int)len, path);
		memcpy(name, path + start, i - start);
		name[i - start] = '\0';
		if (tree_name_check(name) < 0)
			return err_set(-EBADMSG, "path \"%.*s\": %s", (int)len, path, err_detail());
		start = i + 1;
	}
	return 0;
}

static int parse_row(struct textline *t, struct mf_catalog_row *row)
{
	const char *s, *e;
	size_t len;

	textline_rest(t, &s, &len);
	e = s + len;
	for (int f = 0; f < CATALOG_FIELDS; f++) {
		const char *tab = memchr(s, '\t', (size_t)(e - s));
		const char *end = tab ? tab : e;

		if ((f < CATALOG_FIELDS - 1) != (tab != NULL))
			return err_set(-EBADMSG, "catalog line %u: expected %d tab-separated fields",
				       t->lineno, CATALOG_FIELDS);
		row->field[f] = s;
		row->len[f] = (size_t)(end - s);
		for (const char *c = s; c < end; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return err_set(-EBADMSG, "catalog line %u: control character",
					       t->lineno);
		s = end + 1;
	}
	if (mf_path_check(row->field[0], row->len[0]) < 0)
		return err_set(-EBADMSG, "catalog line %u: %s", t->lineno, err_detail());
	if (row->len[1] == 0)
		return err_set(-EBADMSG, "catalog line %u: empty resource id", t->lineno);
	return 0;
}

int mf_catalog_parse(const void *text, size_t n,
		     int (*fn)(const struct mf_catalog_row *row, void *ctx), void *ctx)
{
	struct textline t;
	const char *s;
	size_t len;
	int r;

	if (n > LIMIT_CATALOG_BYTES)
		return err_set(-EFBIG, "catalog: larger than %u bytes", LIMIT_CATALOG_BYTES);
	textline_init(&t, text, n);
	if (!textline_next(&t))
		return err_set(-EBADMSG, "catalog: empty or not LF-terminated");
	textline_rest(&t, &s, &len);
	if (len != strlen(CATALOG_HEADER) || memcmp(s, CATALOG_HEADER, len) != 0)
		return err_set(-EBADMSG, "catalog line 1: header must be \"%s\" (tab-separated)",
			       "path id title subject grade edition type");
	while (textline_next(&t)) {
		struct mf_catalog_row row;

		r = parse_row(&t, &row);
		if (r == 0 && fn)
			r = fn(&row, ctx);
		if (r < 0)
			return r;
	}
	if (t.bad)
		return err_set(-EBADMSG, "catalog line %u: NUL, CR or missing final LF",
			       t.lineno + 1);
	return 0;
}
