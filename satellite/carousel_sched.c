/*
 * carousel_sched.c — the carousel's schedule: which (object, block, ESI)
 * goes out next.  Pure bookkeeping, no I/O; carousel.h draws the policy.
 *
 * Every block is one entry in a flat array; a "round" walks a range of
 * that array turn by turn (symbol j of every block whose slice has a
 * symbol j, then j + 1, ...), which is how both the meta rounds and the
 * bulk groups interleave.  A bulk pass is cut in slices: slice s of group
 * 0, of group 1, ..., then slice s + 1 of group 0, and so on.  Each block remembers its pass; a round that completes moves
 * its blocks to the next pass.
 */
#include <string.h>

#include "core/mem.h"
#include "satellite/carousel.h"

#define DEFAULT_BUDGET (64u << 20)
#define ESI_SPACE (RQ_ESI_MAX + 1ull)

struct blk {
	uint32_t obj;
	uint8_t sbn;
	uint32_t k;
	uint64_t pass;
};

struct round {
	size_t lo, hi;     /* blocks [lo, hi) */
	size_t at;         /* next block to visit */
	uint32_t j;        /* symbol index within the slice */
	uint32_t maxk;     /* the longest slice of a block */
	uint32_t slice, slices; /* block i sends symbols [K*slice/slices, K*(slice+1)/slices) */
};

enum state { START_PASS, META, BULK };

struct sat_sched {
	struct blk *blocks;  /* meta blocks [0, nmeta), then bulk blocks */
	size_t nmeta, nblocks;
	size_t *group_end;   /* bulk groups: group g ends at group_end[g] */
	size_t ngroups, group;
	uint32_t *obj_first; /* first block of each object */
	size_t nobj;
	struct round round;
	struct round saved;  /* the bulk round a meta round interrupted */
	bool bulk_begun;     /* this pass's bulk has started */
	uint32_t slice, slices; /* the bulk pass goes slice by slice */
	enum state state;
	uint64_t meta_every, since_meta, passes;
	bool repeat;
};

uint32_t sat_esi(uint32_t k, uint64_t pass, uint32_t j)
{
	if (pass == 0)
		return j;
	/* (p-1)K + j may exceed 64 bits only after 2^64 / 8192 passes: no. */
	return k + (uint32_t)(((pass - 1) * k + j) % (ESI_SPACE - k));
}

size_t sat_encoder_bytes(uint32_t k, size_t t)
{
	return ((size_t)2 * k + 250) * t;
}

static uint32_t slice_lo(uint32_t k, uint32_t slice, uint32_t slices)
{
	return (uint32_t)((uint64_t)k * slice / slices);
}

static void round_start(struct round *r, const struct blk *b, size_t lo, size_t hi,
			uint32_t slice, uint32_t slices)
{
	r->lo = lo;
	r->hi = hi;
	r->at = lo;
	r->j = 0;
	r->maxk = 0;
	r->slice = slice;
	r->slices = slices;
	for (size_t i = lo; i < hi; i++) {
		uint32_t n = slice_lo(b[i].k, slice + 1, slices) - slice_lo(b[i].k, slice, slices);

		if (n > r->maxk)
			r->maxk = n;
	}
}

/* The next block of the round and its symbol index in the pass, or false
 * when the round is over. */
static bool round_next(struct round *r, const struct blk *b, size_t *blk, uint32_t *j)
{
	while (r->j < r->maxk) {
		while (r->at < r->hi) {
			size_t i = r->at++;
			uint32_t first = slice_lo(b[i].k, r->slice, r->slices);

			if (first + r->j < slice_lo(b[i].k, r->slice + 1, r->slices)) {
				*blk = i;
				*j = first + r->j;
				return true;
			}
		}
		r->at = r->lo;
		r->j++;
	}
	return false;
}

static void round_done(struct sat_sched *s, size_t lo, size_t hi)
{
	for (size_t i = lo; i < hi; i++)
		s->blocks[i].pass++;
}

static int add_blocks(struct sat_sched *s, const struct sat_sched_object *objs, size_t n,
		      enum sat_class cls)
{
	for (size_t i = 0; i < n; i++) {
		if (objs[i].cls != cls)
			continue;
		s->obj_first[i] = (uint32_t)s->nblocks;
		for (uint32_t sbn = 0; sbn < objs[i].oti.source_blocks; sbn++) {
			struct rq_block rb;

			if (rq_oti_block(&rb, &objs[i].oti, sbn) < 0)
				return err_set(-EINVAL, "carousel: object %zu has a bad OTI", i);
			s->blocks[s->nblocks++] =
				(struct blk){ (uint32_t)i, (uint8_t)sbn, rb.source_symbols,
					      objs[i].first_pass };
		}
	}
	return 0;
}

static int make_groups(struct sat_sched *s, const struct sat_sched_object *objs, size_t budget)
{
	size_t used = 0;

	s->group_end = mem_calloc(s->nblocks - s->nmeta + 1, sizeof(*s->group_end));
	if (!s->group_end)
		return -ENOMEM;
	for (size_t i = s->nmeta; i < s->nblocks; i++) {
		size_t need = sat_encoder_bytes(s->blocks[i].k,
						objs[s->blocks[i].obj].oti.symbol_size);

		if (i > s->nmeta && used + need > budget) {
			s->group_end[s->ngroups++] = i;
			used = 0;
		}
		used += need;
	}
	if (s->nblocks > s->nmeta)
		s->group_end[s->ngroups++] = s->nblocks;
	return 0;
}

int sat_sched_new(struct sat_sched **out, const struct sat_sched_object *objs, size_t n,
		  const struct sat_sched_opts *opts)
{
	struct sat_sched *s;
	size_t total = 0, meta_syms = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (rq_oti_check(&objs[i].oti) < 0)
			return err_set(-EINVAL, "carousel: object %zu has a bad OTI", i);
		total += objs[i].oti.source_blocks;
	}
	s = mem_calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->blocks = mem_calloc(total + 1, sizeof(*s->blocks));
	s->obj_first = mem_calloc(n + 1, sizeof(*s->obj_first));
	s->nobj = n;
	s->repeat = opts->repeat;
	if (!s->blocks || !s->obj_first) {
		sat_sched_free(s);
		return -ENOMEM;
	}
	rc = add_blocks(s, objs, n, SAT_CLASS_META);
	s->nmeta = s->nblocks;
	if (rc == 0)
		rc = add_blocks(s, objs, n, SAT_CLASS_BULK);
	if (rc == 0)
		rc = make_groups(s, objs, opts->mem_budget ? opts->mem_budget : DEFAULT_BUDGET);
	if (rc < 0) {
		sat_sched_free(s);
		return rc;
	}
	for (size_t i = 0; i < s->nmeta; i++)
		meta_syms += s->blocks[i].k;
	s->meta_every = opts->meta_every;
	if (!s->meta_every)
		s->meta_every = meta_syms * 9 > 1024 ? meta_syms * 9 : 1024;
	s->slices = opts->slices ? opts->slices : SAT_SCHED_SLICES;
	s->state = START_PASS;
	*out = s;
	return 0;
}

static void emit(const struct sat_sched *s, struct sat_sched_sym *out, size_t b, uint32_t j)
{
	const struct blk *bk = &s->blocks[b];

	out->object = bk->obj;
	out->sbn = bk->sbn;
	out->esi = s->repeat ? j : sat_esi(bk->k, bk->pass, j);
}

static void start_meta(struct sat_sched *s)
{
	round_start(&s->round, s->blocks, 0, s->nmeta, 0, 1);
	s->state = META;
	s->since_meta = 0;
}

static void start_group(struct sat_sched *s)
{
	size_t lo = s->group ? s->group_end[s->group - 1] : s->nmeta;

	round_start(&s->round, s->blocks, lo, s->group_end[s->group], s->slice, s->slices);
}

int sat_sched_next(struct sat_sched *s, struct sat_sched_sym *out)
{
	size_t b;
	uint32_t j;

	if (s->nblocks == 0)
		return 0;
	for (;;) {
		switch (s->state) {
		case START_PASS:
			s->group = 0;
			s->slice = 0;
			s->bulk_begun = false;
			if (s->nmeta) {
				start_meta(s);
			} else {
				start_group(s);
				s->bulk_begun = true;
				s->state = BULK;
			}
			break;
		case META:
			if (round_next(&s->round, s->blocks, &b, &j)) {
				emit(s, out, b, j);
				return 1;
			}
			round_done(s, 0, s->nmeta);
			if (s->nblocks == s->nmeta) { /* nothing but meta */
				s->passes++;
				s->state = START_PASS;
				return 0;
			}
			if (s->bulk_begun) {
				s->round = s->saved;
			} else {
				start_group(s);
				s->bulk_begun = true;
			}
			s->state = BULK;
			break;
		case BULK:
			if (s->nmeta && s->since_meta >= s->meta_every) {
				s->saved = s->round;
				start_meta(s);
				break;
			}
			if (round_next(&s->round, s->blocks, &b, &j)) {
				s->since_meta++;
				emit(s, out, b, j);
				return 1;
			}
			if (++s->group < s->ngroups) {
				start_group(s);
				break;
			}
			if (++s->slice < s->slices) {
				s->group = 0;
				start_group(s);
				break;
			}
			round_done(s, s->nmeta, s->nblocks);
			s->passes++;
			s->state = START_PASS;
			return 0;
		}
	}
}

uint64_t sat_sched_passes(const struct sat_sched *s)
{
	return s->passes;
}

uint64_t sat_sched_object_pass(const struct sat_sched *s, uint32_t i)
{
	return i < s->nobj && s->nblocks ? s->blocks[s->obj_first[i]].pass : 0;
}

void sat_sched_free(struct sat_sched *s)
{
	if (!s)
		return;
	mem_free(s->blocks);
	mem_free(s->group_end);
	mem_free(s->obj_first);
	mem_free(s);
}
