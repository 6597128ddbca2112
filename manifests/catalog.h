/*
 * catalog.h — the catalog sidecar: what each resource of a release is.
 *
 * The national platform's export comes with metadata per resource; ferry
 * takes it as UTF-8 TSV (`ferry pack --meta FILE`) and stores it in the
 * release as meta/catalog.tsv, so a school can browse by grade and
 * subject.  Exactly this header, then one row of seven fields per
 * resource:
 *
 *     path<TAB>id<TAB>title<TAB>subject<TAB>grade<TAB>edition<TAB>type
 *
 * path is relative to the content folder with '/' separators; no field
 * holds a tab, a newline or another control character; every line ends
 * with LF.  Text in any script passes unchanged.
 */
#ifndef FERRY_MANIFESTS_CATALOG_H
#define FERRY_MANIFESTS_CATALOG_H

#include <stddef.h>

#include "core/err.h"

#define CATALOG_HEADER "path\tid\ttitle\tsubject\tgrade\tedition\ttype"
#define CATALOG_FIELDS 7

struct mf_catalog_row {
	const char *field[CATALOG_FIELDS]; /* not NUL-terminated */
	size_t len[CATALOG_FIELDS];
};

/* Checks the whole sidecar; calls fn (if not NULL) for each row.
 * -EBADMSG with "catalog line N: why" on the first problem. */
int mf_catalog_parse(const void *text, size_t n,
		     int (*fn)(const struct mf_catalog_row *row, void *ctx), void *ctx) FERRY_MUST_USE;

/* A release path: relative, '/'-separated, no empty, "." or ".."
 * component, valid UTF-8, no control characters, bounded length. */
int mf_path_check(const char *path, size_t len) FERRY_MUST_USE;

#endif
