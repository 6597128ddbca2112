/*
 * git_libgit2_verify.c — mgit_verify(): is the manifest repository sound?
 *
 * Every pack is indexed again, privately, and the index that comes out
 * must equal the .idx on disk byte for byte: libgit2's indexer hashes every
 * object and checks the pack's trailing checksum, so a changed byte in a
 * pack fails the indexing and a changed byte in an index fails the
 * comparison.  Then: no loose objects, no stray files beside the packs,
 * every ref names a commit whose history (linear: releases never merge)
 * reaches complete, well-formed trees, HEAD names an existing branch, and
 * info/refs and objects/info/packs say what the repository holds.
 *
 * Each finding is one line to the caller's problem callback; verification
 * goes on past findings (not past allocation failures) so one run lists
 * everything.  No libgit2 here: the adapter's calls are in
 * git_libgit2_int.h.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/git_libgit2_int.h"

struct verify {
	struct mgit *g;
	mgit_problem_fn problem;
	void *ctx;
	bool found;
};

static int report(struct verify *v, const char *fmt, ...) FERRY_PRINTF(2, 3);

static int report(struct verify *v, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	v->found = true;
	return v->problem ? v->problem(line, v->ctx) : 0;
}

/* Re-indexes one pack privately; the rebuilt index must equal the one on
 * disk byte for byte, and the pack must hash to its name. */
static int verify_pack(struct verify *v, const char *name, const char *hex)
{
	AUTO_FREE char *pack = fs_join(v->g->packdir, name);
	AUTO_FREE char *idx = mgit_pack_path(v->g->packdir, hex, ".idx");
	char *stage = NULL, got[MGIT_OID_HEX + 1];
	AUTO_FREE char *rebuilt = NULL;
	uint64_t at = 0;
	bool same = false;
	int r;

	if (!pack || !idx)
		return -ENOMEM;
	if (!fs_exists(idx))
		return report(v, "objects/pack/%s: has no index", name);
	r = mgit_staging_new(&stage, v->g->objdir);
	if (r < 0)
		return r;
	r = mgit_pack_reindex(got, stage, pack);
	if (r == -ENOMEM) {
		mgit_staging_remove(stage);
		return r;
	}
	if (r < 0) {
		r = report(v, "objects/pack/%s: %s", name, err_detail());
	} else if (strcmp(got, hex) != 0) {
		r = report(v, "objects/pack/%s: its contents hash to %s", name, got);
	} else if (!(rebuilt = mgit_pack_path(stage, hex, ".idx"))) {
		r = -ENOMEM;
	} else if ((r = mgit_files_compare(&same, &at, rebuilt, idx)) >= 0 && !same) {
		r = report(v,
			   "objects/pack/pack-%s.idx: differs from the index rebuilt from its pack "
			   "at byte %llu",
			   hex, (unsigned long long)at);
	}
	mgit_staging_remove(stage);
	return r;
}

/* Files other git tools may keep beside packs. */
static bool pack_side_file(const char *name)
{
	return mgit_has_suffix(name, ".keep") || mgit_has_suffix(name, ".rev") ||
	       mgit_has_suffix(name, ".bitmap") || mgit_has_suffix(name, ".promisor") ||
	       mgit_has_suffix(name, ".mtimes");
}

static int verify_packs(struct verify *v)
{
	struct mgit_strv names = {0};
	char hex[MGIT_OID_HEX + 1];
	int r = mgit_dir_list(&names, v->g->packdir);

	for (size_t i = 0; r == 0 && i < names.n; i++) {
		const char *n = names.v[i];
		char pack[5 + MGIT_OID_HEX + 6];

		if (mgit_pack_name_parse(hex, n, ".pack")) {
			r = verify_pack(v, n, hex);
		} else if (mgit_pack_name_parse(hex, n, ".idx")) {
			snprintf(pack, sizeof(pack), "pack-%s.pack", hex);
			if (!bsearch(&(const char *){pack}, names.v, names.n, sizeof(*names.v),
				     mgit_str_cmp))
				r = report(v, "objects/pack/%s: an index without its pack", n);
		} else if (!pack_side_file(n)) {
			r = report(v, "objects/pack/%s: not a pack or an index", n);
		}
	}
	mgit_strv_release(&names);
	return r;
}

/* Loose objects live in objects/<2 hex>/; there must be none. */
static int verify_loose(struct verify *v)
{
	struct mgit_strv dirs = {0};
	int r = mgit_dir_list(&dirs, v->g->objdir);

	for (size_t i = 0; r == 0 && i < dirs.n; i++) {
		struct mgit_strv files = {0};
		uint8_t byte;
		AUTO_FREE char *sub = NULL;

		if (strlen(dirs.v[i]) != 2 || hex_decode(&byte, 1, dirs.v[i], 2) < 0)
			continue;
		sub = fs_join(v->g->objdir, dirs.v[i]);
		r = sub ? mgit_dir_list(&files, sub) : -ENOMEM;
		for (size_t j = 0; r == 0 && j < files.n; j++)
			r = report(v, "objects/%s/%s: a loose object", dirs.v[i], files.v[j]);
		mgit_strv_release(&files);
	}
	mgit_strv_release(&dirs);
	return r;
}

/* One ref's history: every commit parses, is not a merge, and reaches a
 * complete tree.  Shared history is checked once (seen). */
static int verify_history(struct verify *v, const struct mgit_refent *ref,
			  struct mgit_oidset *commits, struct mgit_oidset *trees)
{
	struct mgit_oid cur = ref->id;
	char hex[MGIT_OID_HEX + 1];
	int r;

	while ((r = mgit_oidset_add(commits, &cur)) > 0) {
		struct mgit_commit c;

		mgit_oid_fmt(hex, &cur);
		r = mgit_commit_read(&c, v->g, &cur);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return report(v, "%s: commit %s: %s", ref->name, hex, err_detail());
		if (c.parent_count > 1)
			r = report(v, "%s: commit %s is a merge; releases are linear", ref->name,
				   hex);
		if (r == 0)
			r = mgit_tree_reach(v->g, &c.tree, trees, v->problem, v->ctx, &v->found);
		cur = c.parent;
		if (r != 0 || !c.has_parent) {
			mgit_commit_release(&c);
			return r;
		}
		mgit_commit_release(&c);
	}
	return r;
}

static int verify_head(struct verify *v, const struct mgit_refv *rv)
{
	AUTO_FREE char *target = NULL;
	bool branches = false, named = false;
	int r = mgit_head_target(&target, v->g);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return report(v, "HEAD: %s", err_detail());
	for (size_t i = 0; i < rv->n; i++) {
		branches |= strncmp(rv->v[i].name, "refs/heads/", 11) == 0;
		named |= target && strcmp(rv->v[i].name, target) == 0;
	}
	if (target && branches && !named)
		return report(v, "HEAD names %s, which does not exist", target);
	return 0;
}

static int verify_refs(struct verify *v)
{
	struct mgit_oidset commits, trees;
	struct mgit_refv rv = {0};
	int r = mgit_refs_collect(&rv, v->g);

	mgit_oidset_init(&commits);
	mgit_oidset_init(&trees);
	if (r < 0)
		r = report(v, "refs: %s", err_detail());
	for (size_t i = 0; r == 0 && i < rv.n; i++) {
		enum mgit_kind kind;
		size_t size;

		if (mgit_obj_stat(&kind, &size, v->g, &rv.v[i].id) < 0)
			r = report(v, "%s: %s", rv.v[i].name, err_detail());
		else if (kind != MGIT_KIND_COMMIT)
			r = report(v, "%s: points at a %s, not a commit", rv.v[i].name,
				   mgit_kind_name(kind));
		else
			r = verify_history(v, &rv.v[i], &commits, &trees);
	}
	if (r == 0)
		r = verify_head(v, &rv);
	mgit_oidset_release(&commits);
	mgit_oidset_release(&trees);
	mgit_refv_release(&rv);
	return r;
}

static int verify_server_info(struct verify *v)
{
	struct buf want[2];
	int r;

	buf_init(&want[0], LIMIT_CATALOG_BYTES);
	buf_init(&want[1], LIMIT_CATALOG_BYTES);
	r = mgit_server_info_render(want, v->g);
	for (int i = 0; r == 0 && i < 2; i++) {
		AUTO_FREE char *path = fs_join(v->g->gitdir, mgit_info_path[i]);

		if (!path)
			r = -ENOMEM;
		else if (!mgit_file_holds(path, &want[i]))
			r = report(
			    v, "%s: missing or stale (plain HTTP clients would miss refs or packs)",
			    mgit_info_path[i]);
	}
	buf_release(&want[0]);
	buf_release(&want[1]);
	return r;
}

int mgit_verify(struct mgit *g, mgit_problem_fn problem, void *ctx)
{
	struct verify v = {.g = g, .problem = problem, .ctx = ctx};
	int r = mgit_odb_refresh(g);

	if (r < 0)
		return r;
	r = verify_packs(&v);
	if (r == 0)
		r = verify_loose(&v);
	if (r == 0)
		r = verify_refs(&v);
	if (r == 0)
		r = verify_server_info(&v);
	if (r != 0)
		return r;
	return v.found ? err_set(-EBADMSG, "%s: the repository has problems", g->gitdir) : 0;
}
