/*
 * test_plan_gap.c — plan_requests() reads a gap between two needed pack
 * entries only when the gap costs less than another request: a gap up to
 * PLAN_GAP_BYTES is read through (one request), a wider one splits the
 * read in two, and 64 KiB — 8 s of a 64 kbit/s link — is never read for
 * nothing.  Plans are built by hand: chunks at chosen offsets of one pack.
 */
#include <string.h>

#include "core/mem.h"
#include "sync/plan.h"
#include "tests/harness.h"

#define ENTRY (4u << 10) /* stored bytes of every chunk */

static struct sha256 pack_name = { .b = { 0x5a } };

/* A plan of n chunks of one pack, chunk i's entry starting at off[i]. */
static void make_plan(struct plan *p, const uint64_t *off, size_t n)
{
	plan_init(p);
	p->chunks = mem_calloc(n, sizeof(*p->chunks));
	CHECK(p->chunks != NULL);
	p->n = p->cap = n;
	for (size_t i = 0; i < n; i++) {
		struct plan_chunk *c = &p->chunks[i];

		c->id.b[0] = (uint8_t)(i + 1);
		c->raw_len = c->stored_len = ENTRY;
		c->source = 0;
		c->pack = &pack_name;
		c->at.id = c->id;
		c->at.offset = off[i];
		c->at.stored_len = c->at.raw_len = ENTRY;
	}
}

static uint64_t end_of(uint64_t off)
{
	return off + PACK_ENTRY_HEADER_LEN + ENTRY;
}

/* Two entries `gap` bytes apart: how many requests, and the bytes read. */
static size_t requests_for_gap(uint64_t gap, uint64_t *read)
{
	uint64_t off[2] = { 1000, 0 };
	struct plan p;
	size_t n;

	off[1] = end_of(off[0]) + gap;
	make_plan(&p, off, 2);
	CHECK_OK(plan_requests(&p));
	n = p.nreqs;
	*read = 0;
	for (size_t i = 0; i < p.nreqs; i++)
		*read += p.reqs[i].len;
	plan_release(&p);
	return n;
}

static void test_small_gap_is_read(void)
{
	uint64_t read;

	CHECK_EQ_U(requests_for_gap(512, &read), 1);
	CHECK_EQ_U(read, 2 * (PACK_ENTRY_HEADER_LEN + ENTRY) + 512);
	CHECK_EQ_U(requests_for_gap(PLAN_GAP_BYTES, &read), 1);
}

static void test_wide_gap_is_skipped(void)
{
	uint64_t read;

	CHECK_EQ_U(requests_for_gap(PLAN_GAP_BYTES + 1, &read), 2);
	CHECK_EQ_U(read, 2 * (PACK_ENTRY_HEADER_LEN + ENTRY));
	/* What the old 256 KiB rule read through: 8 s at 64 kbit/s. */
	CHECK_EQ_U(requests_for_gap(64u << 10, &read), 2);
	CHECK_EQ_U(read, 2 * (PACK_ENTRY_HEADER_LEN + ENTRY));
}

/* Three entries: close, then far; the far one gets its own request. */
static void test_mixed(void)
{
	uint64_t off[3] = { 0, 0, 0 };
	struct plan p;

	off[1] = end_of(off[0]) + 100;
	off[2] = end_of(off[1]) + (200u << 10);
	make_plan(&p, off, 3);
	CHECK_OK(plan_requests(&p));
	CHECK_EQ_U(p.nreqs, 2);
	CHECK_EQ_U(p.reqs[0].off, off[0]);
	CHECK_EQ_U(p.reqs[0].count, 2);
	CHECK_EQ_U(p.reqs[0].len, end_of(off[1]) - off[0]);
	CHECK_EQ_U(p.reqs[1].off, off[2]);
	CHECK_EQ_U(p.reqs[1].count, 1);
	plan_release(&p);
}

int main(void)
{
	return t_main((struct t_case[]){
	    {"a gap cheaper than a request is read through", test_small_gap_is_read},
	    {"a gap dearer than a request splits the read", test_wide_gap_is_skipped},
	    {"near entries share a request, a far one has its own", test_mixed},
	    {0}});
}
