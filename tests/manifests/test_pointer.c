/*
 * test_pointer.c — file pointer format: round trip and strict refusals.
 */
#include "core/mem.h"
#include "manifests/pointer.h"
#include "tests/harness.h"

static void make(struct mf_pointer *p, size_t n)
{
	mf_pointer_init(p);
	p->size = 0;
	for (size_t i = 0; i < n; i++) {
		struct sha256 id;

		memset(id.b, (int)i + 1, sizeof(id.b));
		CHECK_OK(mf_pointer_add(p, &id, 1000 + (uint32_t)i, 500));
		p->size += 1000 + i;
	}
	memset(p->hash.b, 0xab, sizeof(p->hash.b));
}

static void test_round_trip(void)
{
	struct mf_pointer a, b;
	struct buf t;

	make(&a, 40);
	buf_init(&t, 1 << 20);
	CHECK_OK(mf_pointer_format(&t, &a));
	CHECK_OK(mf_pointer_parse(&b, t.data, t.len));
	CHECK_EQ_U(b.size, a.size);
	CHECK_EQ_U(b.nchunks, 40);
	CHECK(memcmp(b.chunks, a.chunks, 40 * sizeof(a.chunks[0])) == 0);
	CHECK(memcmp(b.hash.b, a.hash.b, 32) == 0);
	CHECK_EQ_U(mf_pointer_stored(&b), 40 * 500);
	mf_pointer_release(&a);
	mf_pointer_release(&b);
	buf_release(&t);
}

static void test_empty_file(void)
{
	struct mf_pointer a, b;
	struct buf t;

	make(&a, 0);
	buf_init(&t, 1 << 20);
	CHECK_OK(mf_pointer_format(&t, &a));
	CHECK_OK(mf_pointer_parse(&b, t.data, t.len));
	CHECK_EQ_U(b.nchunks, 0);
	mf_pointer_release(&a);
	mf_pointer_release(&b);
	buf_release(&t);
}

static const char good[] = "ferry-pointer 1\nsize 10\nsha256 "
			   "abababababababababababababababababababababababababababababababab\nchunks 1\n"
			   "0101010101010101010101010101010101010101010101010101010101010101 10 10\n";

static void test_refusals(void)
{
	static const struct {
		const char *from, *to;
	} edits[] = {
		{ "size 10", "size 11" },             /* sum mismatch */
		{ "size 10", "size 010" },            /* leading zero */
		{ "ferry-pointer 1", "ferry-pointer 2" },
		{ "chunks 1", "chunks 2" },           /* promises more */
		{ " 10 10\n", " 10  10\n" },          /* double space */
		{ " 10 10\n", " 10 10\r\n" },         /* CR */
		{ "sha256 ab", "sha256 zb" },
		{ " 10 10\n", " 10 10\nextra\n" },
		{ " 10 10\n", " 10 10" },             /* no final LF */
		{ "size 10", "size 18446744073709551616" },
		{ " 10 10\n", " 0 0\n" },
	};
	struct mf_pointer p;

	CHECK_OK(mf_pointer_parse(&p, good, sizeof(good) - 1));
	mf_pointer_release(&p);
	for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
		char t[512];
		const char *at = strstr(good, edits[i].from);
		size_t pre = (size_t)(at - good);

		snprintf(t, sizeof(t), "%.*s%s%s", (int)pre, good, edits[i].to,
			 at + strlen(edits[i].from));
		CHECK_MSG(mf_pointer_parse(&p, t, strlen(t)) == -EBADMSG, "edit %zu accepted", i);
		CHECK(p.chunks == NULL);
	}
}

static void test_allocation_failures(void)
{
	struct mf_pointer a, b;
	struct buf t;
	long n;

	make(&a, 100);
	buf_init(&t, 1 << 20);
	CHECK_OK(mf_pointer_format(&t, &a));
	mem_fail_after(-1);
	CHECK_OK(mf_pointer_parse(&b, t.data, t.len));
	mf_pointer_release(&b);
	n = mem_fail_after(-1);
	for (long i = 0; i < n; i++) {
		mem_fail_after(i);
		CHECK(mf_pointer_parse(&b, t.data, t.len) == -ENOMEM);
		mem_fail_after(-1);
	}
	mf_pointer_release(&a);
	buf_release(&t);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "round trip", test_round_trip },
		{ "empty file", test_empty_file },
		{ "malformed pointers are refused", test_refusals },
		{ "allocation failures unwind", test_allocation_failures },
		{ 0 } });
}
