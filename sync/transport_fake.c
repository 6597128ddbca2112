/*
 * transport_fake.c — repositories in memory with scripted faults, so the
 * planner and the fetcher can be tested without disks or networks (see the
 * end of transport.h).
 *
 * One process-wide table of named repositories, guarded by one mutex.
 * A read looks its file up again for every piece and copies the piece out
 * under the lock, then hands it to the sink without the lock held: a sink
 * may call back into the fake (to count what was served, or to put a new
 * file) and a test may replace a file between two pieces.
 */
#include "sync/transport.h"

#include <pthread.h>
#include <string.h>

#include "core/mem.h"

enum fake_fault_kind { FAULT_FAIL, FAULT_CORRUPT };

struct fake_fault {
	enum fake_fault_kind kind;
	char *path;  /* NULL: the whole source (FAULT_FAIL only) */
	uint64_t at; /* FAIL: bytes into a read; CORRUPT: file offset */
	int err;
	unsigned left; /* hits before it is spent, when limited */
	bool limited;  /* false: hits every time */
	bool spent;
};

struct fake_file {
	char *path;
	uint8_t *data;
	size_t n;
};

struct fake_repo {
	char *name;
	struct fake_file *files;
	size_t n_files, cap_files;
	struct fake_fault *faults;
	size_t n_faults, cap_faults;
	bool nolist;
	uint64_t served, requests;
};

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_repo *repos;
static size_t n_repos, cap_repos;

struct fake_transport {
	struct transport base;
	char *name;
};

/* Returns v (an array of *cap elements of size each) grown to hold n + 1
 * elements, or NULL with v untouched. */
static void *grow(void *v, size_t *cap, size_t n, size_t each)
{
	size_t want, bytes;
	void *g;

	if (n < *cap)
		return v;
	want = *cap ? *cap * 2 : 8;
	if (!mem_mul_ok(&bytes, want, each))
		return NULL;
	g = mem_realloc(v, bytes);
	if (g)
		*cap = want;
	return g;
}

static struct fake_repo *repo_find(const char *name)
{
	for (size_t i = 0; i < n_repos; i++)
		if (strcmp(repos[i].name, name) == 0)
			return &repos[i];
	return NULL;
}

static int repo_get(struct fake_repo **out, const char *name)
{
	struct fake_repo *r = repo_find(name);

	if (!r) {
		struct fake_repo *g = grow(repos, &cap_repos, n_repos, sizeof(*repos));

		if (!g)
			return -ENOMEM;
		repos = g;
		r = &repos[n_repos];
		memset(r, 0, sizeof(*r));
		r->name = mem_strdup(name);
		if (!r->name)
			return -ENOMEM;
		n_repos++;
	}
	*out = r;
	return 0;
}

static struct fake_file *file_find(struct fake_repo *r, const char *path)
{
	for (size_t i = 0; i < r->n_files; i++)
		if (strcmp(r->files[i].path, path) == 0)
			return &r->files[i];
	return NULL;
}

static int put_locked(const char *name, const char *path, const void *data, size_t n)
{
	struct fake_repo *r;
	struct fake_file *f;
	AUTO_FREE uint8_t *copy = NULL;
	int e = repo_get(&r, name);

	if (e < 0 || !path)
		return e;
	copy = mem_dup(n ? data : "", n ? n : 1);
	if (!copy)
		return -ENOMEM;
	f = file_find(r, path);
	if (!f) {
		struct fake_file *g = grow(r->files, &r->cap_files, r->n_files, sizeof(*g));

		if (!g)
			return -ENOMEM;
		r->files = g;
		f = &r->files[r->n_files];
		f->path = mem_strdup(path);
		if (!f->path)
			return -ENOMEM;
		f->data = NULL;
		r->n_files++;
	}
	mem_free(f->data);
	f->data = TAKE_PTR(copy);
	f->n = n;
	return 0;
}

int transport_fake_put(const char *name, const char *path, const void *data, size_t n)
{
	int r;

	if (path && transport_path_check(path, strlen(path), false) < 0)
		return -EINVAL;
	pthread_mutex_lock(&fake_lock);
	r = put_locked(name, path, data, n);
	pthread_mutex_unlock(&fake_lock);
	return r;
}

void transport_fake_reset(void)
{
	pthread_mutex_lock(&fake_lock);
	for (size_t i = 0; i < n_repos; i++) {
		struct fake_repo *r = &repos[i];

		for (size_t j = 0; j < r->n_files; j++) {
			mem_free(r->files[j].path);
			mem_free(r->files[j].data);
		}
		for (size_t j = 0; j < r->n_faults; j++)
			mem_free(r->faults[j].path);
		mem_free(r->files);
		mem_free(r->faults);
		mem_free(r->name);
	}
	mem_free(repos);
	repos = NULL;
	n_repos = cap_repos = 0;
	pthread_mutex_unlock(&fake_lock);
}

static int fault_add(const char *name, const struct fake_fault *f)
{
	struct fake_repo *r;
	AUTO_FREE char *path = NULL;
	int e;

	if (f->path) {
		path = mem_strdup(f->path);
		if (!path)
			return -ENOMEM;
	}
	pthread_mutex_lock(&fake_lock);
	e = repo_get(&r, name);
	if (e == 0) {
		struct fake_fault *g = grow(r->faults, &r->cap_faults, r->n_faults, sizeof(*g));

		if (g)
			r->faults = g;
		else
			e = -ENOMEM;
	}
	if (e == 0) {
		r->faults[r->n_faults] = *f;
		r->faults[r->n_faults++].path = TAKE_PTR(path);
	}
	pthread_mutex_unlock(&fake_lock);
	return e;
}

int transport_fake_fail(const char *name, const char *path, uint64_t after_bytes, int err,
			unsigned times)
{
	struct fake_fault f = {FAULT_FAIL, (char *)path, after_bytes, err, times, times > 0, false};

	if (err >= 0)
		return err_set(-EINVAL, "transport_fake_fail: err must be a negative errno");
	return fault_add(name, &f);
}

int transport_fake_corrupt(const char *name, const char *path, uint64_t at, unsigned times)
{
	struct fake_fault f = {FAULT_CORRUPT, (char *)path, at, 0, times, times > 0, false};

	if (!path)
		return err_set(-EINVAL, "transport_fake_corrupt: a path is needed");
	return fault_add(name, &f);
}

int transport_fake_set_listable(const char *name, bool listable)
{
	struct fake_repo *r;
	int e;

	pthread_mutex_lock(&fake_lock);
	e = repo_get(&r, name);
	if (e == 0)
		r->nolist = !listable;
	pthread_mutex_unlock(&fake_lock);
	return e;
}

static uint64_t counter(const char *name, bool bytes)
{
	struct fake_repo *r;
	uint64_t v = 0;

	pthread_mutex_lock(&fake_lock);
	r = repo_find(name);
	if (r)
		v = bytes ? r->served : r->requests;
	pthread_mutex_unlock(&fake_lock);
	return v;
}

uint64_t transport_fake_served(const char *name)
{
	return counter(name, true);
}

uint64_t transport_fake_requests(const char *name)
{
	return counter(name, false);
}

/* Spends one hit of f. */
static void fault_hit(struct fake_fault *f)
{
	if (f->limited && --f->left == 0)
		f->spent = true;
}

static bool fault_is(const struct fake_fault *f, enum fake_fault_kind kind, const char *path)
{
	if (f->spent || f->kind != kind)
		return false;
	if (!path || !f->path)
		return !path && !f->path;
	return strcmp(f->path, path) == 0;
}

static struct fake_fault *fault_find(struct fake_repo *r, enum fake_fault_kind kind,
				     const char *path)
{
	for (size_t i = 0; i < r->n_faults; i++)
		if (fault_is(&r->faults[i], kind, path))
			return &r->faults[i];
	return NULL;
}

/* With the lock held: the repository a transport reads, or an error if it
 * is gone or scripted to be down (which spends a hit). */
static int repo_reach(struct fake_repo **out, const char *name)
{
	struct fake_repo *r = repo_find(name);
	struct fake_fault *down;

	if (!r)
		return err_set(-EHOSTUNREACH, "fake://%s: no such fake repository", name);
	down = fault_find(r, FAULT_FAIL, NULL);
	if (down) {
		fault_hit(down);
		return err_set(down->err, "fake://%s: scripted to be down", name);
	}
	*out = r;
	return 0;
}

static bool fake_handles(const char *url)
{
	return strncmp(url, "fake://", 7) == 0;
}

static const struct transport_ops fake_nolist_ops;

static int fake_open(struct transport **out, const char *url, const struct transport_opts *o)
{
	const char *name = url + 7;
	struct fake_transport *ft;
	struct fake_repo *r;
	bool nolist;
	int e;

	if (!name[0])
		return err_set(-EINVAL, "%s: a fake URL needs a name", url);
	pthread_mutex_lock(&fake_lock);
	e = repo_reach(&r, name);
	nolist = e == 0 && r->nolist;
	pthread_mutex_unlock(&fake_lock);
	if (e < 0)
		return e;
	ft = mem_calloc(1, sizeof(*ft));
	if (!ft)
		return -ENOMEM;
	ft->name = mem_strdup(name);
	if (!ft->name) {
		mem_free(ft);
		return -ENOMEM;
	}
	ft->base.ops = nolist ? &fake_nolist_ops : &transport_fake_ops;
	*out = &ft->base;
	return 0;
}

static void fake_close(struct transport *t)
{
	struct fake_transport *ft = (struct fake_transport *)t;

	mem_free(ft->name);
	mem_free(ft);
}

static int fake_size(struct transport *t, const char *path, uint64_t *out)
{
	struct fake_transport *ft = (struct fake_transport *)t;
	struct fake_repo *r;
	struct fake_file *f = NULL;
	int e;

	pthread_mutex_lock(&fake_lock);
	e = repo_reach(&r, ft->name);
	if (e == 0) {
		f = file_find(r, path);
		if (f)
			*out = f->n;
	}
	pthread_mutex_unlock(&fake_lock);
	if (e < 0)
		return transport_fail(t, e, "%s", err_detail());
	if (!f)
		return transport_fail(t, -ENOENT, "fake://%s: %s: no such file", ft->name, path);
	return 0;
}

/* One piece of a read, under the lock: copies up to k bytes of path from
 * pos into b, applies corruption, counts them as served.  Returns the
 * number of bytes copied, 0 at the end of the file. */
static long piece_take(uint8_t *b, const char *name, const char *path, uint64_t pos, size_t k)
{
	struct fake_repo *r;
	struct fake_file *f;
	long e = repo_reach(&r, name);

	if (e < 0)
		return e;
	f = file_find(r, path);
	if (!f)
		return err_set(-ENOENT, "fake://%s: %s: no such file", name, path);
	if (pos >= f->n)
		return 0;
	if (k > f->n - pos)
		k = (size_t)(f->n - pos);
	memcpy(b, f->data + pos, k);
	for (size_t i = 0; i < r->n_faults; i++) {
		struct fake_fault *c = &r->faults[i];

		if (fault_is(c, FAULT_CORRUPT, path) && c->at >= pos && c->at - pos < k) {
			b[c->at - pos] ^= 0xff;
			fault_hit(c);
		}
	}
	r->served += k;
	return (long)k;
}

/* At the start of a read: counts it, and returns how many bytes it may
 * deliver before its scripted failure (*err), or len. */
static int read_begin(uint64_t *limit, int *err, const char *name, const char *path, uint64_t len)
{
	struct fake_repo *r;
	struct fake_fault *f;
	int e;

	pthread_mutex_lock(&fake_lock);
	e = repo_reach(&r, name);
	if (e == 0 && (r->requests++, !file_find(r, path)))
		e = err_set(-ENOENT, "fake://%s: %s: no such file", name, path);
	if (e == 0) {
		f = fault_find(r, FAULT_FAIL, path);
		*limit = len;
		*err = 0;
		if (f && f->at < len) {
			*limit = f->at;
			*err = f->err;
			fault_hit(f);
		}
	}
	pthread_mutex_unlock(&fake_lock);
	return e;
}

static int fake_read(struct transport *t, const char *path, uint64_t off, uint64_t len,
		     transport_sink_fn sink, void *ctx)
{
	struct fake_transport *ft = (struct fake_transport *)t;
	uint8_t b[TRANSPORT_FAKE_PIECE_BYTES];
	uint64_t done = 0, limit = 0;
	int fail = 0, e = read_begin(&limit, &fail, ft->name, path, len);

	if (e < 0)
		return transport_fail(t, e, "%s", err_detail());
	while (done < limit) {
		uint64_t left = limit - done;
		size_t k = left < sizeof(b) ? (size_t)left : sizeof(b);
		long got;

		if (off + done < off)
			return transport_fail(t, -EBADMSG, "fake://%s: %s: range overflows",
					      ft->name, path);
		pthread_mutex_lock(&fake_lock);
		got = piece_take(b, ft->name, path, off + done, k);
		pthread_mutex_unlock(&fake_lock);
		if (got < 0)
			return transport_fail(t, (int)got, "%s", err_detail());
		if (got == 0)
			return transport_fail(
			    t, -EBADMSG,
			    "fake://%s: %s ends at byte %llu, before the %llu asked for", ft->name,
			    path, (unsigned long long)(off + done),
			    (unsigned long long)(off + len));
		e = sink(b, (size_t)got, ctx);
		if (e < 0)
			return e;
		done += (uint64_t)got;
	}
	if (fail)
		return transport_fail(t, fail, "fake://%s: %s: scripted failure after %llu bytes",
				      ft->name, path, (unsigned long long)done);
	return 0;
}

struct names {
	char **v;
	size_t n, cap;
};

static void names_release(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		mem_free(ns->v[i]);
	mem_free(ns->v);
}

/* Adds the first segment of rest (a path below the listed folder) once. */
static int names_add(struct names *ns, const char *rest)
{
	size_t n = strcspn(rest, "/");

	for (size_t i = 0; i < ns->n; i++)
		if (strlen(ns->v[i]) == n && memcmp(ns->v[i], rest, n) == 0)
			return 0;
	char **g = grow(ns->v, &ns->cap, ns->n, sizeof(*g));

	if (!g)
		return -ENOMEM;
	ns->v = g;
	ns->v[ns->n] = mem_strndup(rest, n);
	if (!ns->v[ns->n])
		return -ENOMEM;
	ns->n++;
	return 0;
}

/* Under the lock: the names directly inside dir ("" = the root). */
static int names_collect(struct names *ns, const char *name, const char *dir)
{
	size_t dn = strlen(dir);
	struct fake_repo *r;
	int e = repo_reach(&r, name);

	if (e < 0)
		return e;
	if (r->nolist)
		return err_set(-EOPNOTSUPP, "fake://%s: this source cannot list folders", name);
	for (size_t i = 0; e == 0 && i < r->n_files; i++) {
		const char *p = r->files[i].path;

		if (dn == 0)
			e = names_add(ns, p);
		else if (strncmp(p, dir, dn) == 0 && p[dn] == '/')
			e = names_add(ns, p + dn + 1);
	}
	if (e == 0 && dn && ns->n == 0)
		e = err_set(-ENOENT, "fake://%s: %s: no such folder", name, dir);
	return e;
}

static int fake_list(struct transport *t, const char *dir, int (*fn)(const char *name, void *ctx),
		     void *ctx)
{
	struct fake_transport *ft = (struct fake_transport *)t;
	struct names ns = {0};
	int e;

	pthread_mutex_lock(&fake_lock);
	e = names_collect(&ns, ft->name, dir);
	pthread_mutex_unlock(&fake_lock);
	if (e < 0) {
		names_release(&ns);
		return transport_fail(t, e, "%s", err_detail());
	}
	for (size_t i = 0; e >= 0 && i < ns.n; i++)
		e = fn(ns.v[i], ctx);
	names_release(&ns);
	return e < 0 ? e : 0;
}

const struct transport_ops transport_fake_ops = {
    .version = TRANSPORT_OPS_VERSION,
    .name = "fake",
    .handles = fake_handles,
    .open = fake_open,
    .close = fake_close,
    .size = fake_size,
    .read = fake_read,
    .list = fake_list,
};

/* What a transport opened on a repository that refuses listing gets, so
 * transport_can_list() says no, as it does for plain HTTP. */
static const struct transport_ops fake_nolist_ops = {
    .version = TRANSPORT_OPS_VERSION,
    .name = "fake",
    .handles = fake_handles,
    .open = fake_open,
    .close = fake_close,
    .size = fake_size,
    .read = fake_read,
    .list = NULL,
};
