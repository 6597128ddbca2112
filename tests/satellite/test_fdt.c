/*
 * test_fdt.c — unit tests of the FDT instance (satellite/flute.h): the
 * XML ferry writes, its round trip (escaped names, big lengths), and the
 * parser's refusals of everything outside the subset it reads.
 */
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "satellite/flute.h"
#include "tests/harness.h"

static const uint8_t sha_a[32] = { 0xab, 1, 2, 3 };

static void test_write(void)
{
	struct flute_fdt fdt;
	struct buf b;

	flute_fdt_init(&fdt);
	fdt.expires = 3980000000u;
	CHECK_OK(flute_fdt_add(&fdt, 1, "heads/main", 512, sha_a));
	CHECK_EQ_I(flute_fdt_add(&fdt, 0, "x", 1, sha_a), -EINVAL);
	CHECK_EQ_I(flute_fdt_add(&fdt, 2, "../x", 1, sha_a), -EINVAL);
	CHECK_EQ_I(flute_fdt_add(&fdt, 2, "/x", 1, sha_a), -EINVAL);
	buf_init(&b, FLUTE_FDT_MAX_BYTES);
	CHECK_OK(flute_fdt_write(&b, &fdt));
	CHECK_STR(buf_str(&b),
		  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		  "<FDT-Instance xmlns=\"urn:IETF:metadata:2005:FLUTE:FDT\" "
		  "xmlns:ferry=\"urn:ferry:fdt:1\" Expires=\"3980000000\">\n"
		  "<File TOI=\"1\" Content-Location=\"heads/main\" Content-Length=\"512\" "
		  "ferry:sha256=\"ab01020300000000000000000000000000000000000000000000000000000000\"/>\n"
		  "</FDT-Instance>\n");
	buf_release(&b);
	flute_fdt_release(&fdt);
}

static void test_round_trip(void)
{
	struct flute_fdt fdt, back;
	struct buf b;
	uint8_t sha[32];

	flute_fdt_init(&fdt);
	for (uint32_t i = 0; i < 300; i++) {
		char name[64];

		memset(sha, (int)i, sizeof(sha));
		snprintf(name, sizeof(name), "packs/%02x/a&b<c>'\"%u.pack", i & 0xff, i);
		CHECK_OK(flute_fdt_add(&fdt, 1000 + i * 7, name, (uint64_t)i << 30, sha));
	}
	CHECK_OK(flute_fdt_add(&fdt, 0xffffffffu, "教材/藏文.pdf", LIMIT_FILE_BYTES, sha));
	buf_init(&b, FLUTE_FDT_MAX_BYTES);
	CHECK_OK(flute_fdt_write(&b, &fdt));
	CHECK_OK(flute_fdt_parse(&back, b.data, b.len));
	CHECK_EQ_U(back.n, fdt.n);
	for (size_t i = 0; i < fdt.n; i++) {
		CHECK_EQ_U(back.files[i].toi, fdt.files[i].toi);
		CHECK_EQ_U(back.files[i].length, fdt.files[i].length);
		CHECK_STR(back.files[i].location, fdt.files[i].location);
		CHECK(memcmp(back.files[i].sha256, fdt.files[i].sha256, 32) == 0);
	}
	CHECK(flute_fdt_find(&back, 1007) == &back.files[1]);
	CHECK(flute_fdt_find(&back, 1008) == NULL);
	buf_release(&b);
	flute_fdt_release(&back);
	flute_fdt_release(&fdt);
}

#define HEAD "<FDT-Instance xmlns=\"urn:IETF:metadata:2005:FLUTE:FDT\" Expires=\"1\">"
#define SHA "ferry:sha256=\"0000000000000000000000000000000000000000000000000000000000000000\""
#define FILE1 "<File TOI=\"1\" Content-Location=\"a\" Content-Length=\"3\" " SHA "/>"
#define TAIL "</FDT-Instance>"

static void expect(const char *xml, int code, const char *detail)
{
	struct flute_fdt fdt;
	int rc = flute_fdt_parse(&fdt, xml, strlen(xml));

	flute_fdt_release(&fdt);
	CHECK_MSG(rc == code, "%s: got %d (%s), want %d", xml, rc, err_detail(), code);
	if (code < 0)
		CHECK_MSG(strstr(err_detail(), detail), "%s: detail \"%s\" lacks \"%s\"", xml,
			  err_detail(), detail);
}

static void test_refusals(void)
{
	expect(HEAD FILE1 TAIL, 0, "");
	expect("  <?xml version='1.0'?>\n" HEAD "\n" FILE1 "\n" TAIL "\n\n", 0, "");
	expect(HEAD "<File TOI='1' Content-Location='a' Content-Length='3' Other='x' " SHA " />" TAIL,
	       0, "");
	expect(HEAD TAIL, 0, "");
	expect("", -EBADMSG, "no FDT-Instance");
	expect("<?xml " HEAD TAIL, -EBADMSG, "not closed");
	expect(HEAD FILE1, -EBADMSG, "unexpected content");
	expect(HEAD FILE1 TAIL "x", -EBADMSG, "after </FDT-Instance>");
	expect(HEAD "<!-- c -->" FILE1 TAIL, -EBADMSG, "unexpected content");
	expect(HEAD "<File TOI=\"1\" Content-Location=\"a\" " SHA "/>" TAIL, -EBADMSG, "lacks");
	expect(HEAD "<File TOI=\"0\" Content-Location=\"a\" Content-Length=\"3\" " SHA "/>" TAIL,
	       -EBADMSG, "TOI 0");
	expect(HEAD "<File TOI=\"4294967296\" Content-Location=\"a\" Content-Length=\"3\" " SHA
		    "/>" TAIL,
	       -EBADMSG, "TOI is not a number");
	expect(HEAD "<File TOI=\"01\" Content-Location=\"a\" Content-Length=\"3\" " SHA "/>" TAIL,
	       -EBADMSG, "not a number");
	expect(HEAD "<File TOI=\"1\" Content-Location=\"a\" Content-Length=\"-3\" " SHA "/>" TAIL,
	       -EBADMSG, "Content-Length");
	expect(HEAD "<File TOI=\"1\" Content-Location=\"a\" Content-Length=\"1099511627777\" " SHA
		    "/>" TAIL,
	       -EBADMSG, "Content-Length");
	expect(HEAD "<File TOI=\"1\" Content-Location=\"../etc/passwd\" Content-Length=\"3\" " SHA
		    "/>" TAIL,
	       -EBADMSG, "unsafe Content-Location");
	expect(HEAD "<File TOI=\"1\" Content-Location=\"/a\" Content-Length=\"3\" " SHA "/>" TAIL,
	       -EBADMSG, "unsafe");
	expect(HEAD "<File TOI=\"1\" Content-Location=\"a&#47;b\" Content-Length=\"3\" " SHA
		    "/>" TAIL,
	       -EBADMSG, "unknown entity");
	expect(HEAD "<File TOI=\"1\" TOI=\"2\" Content-Location=\"a\" Content-Length=\"3\" " SHA
		    "/>" TAIL,
	       -EBADMSG, "TOI twice");
	expect(HEAD "<File TOI=\"1\" Content-Location=\"a\" Content-Length=\"3\" ferry:sha256=\"00\"/>" TAIL,
	       -EBADMSG, "64 hex digits");
	expect(HEAD FILE1 FILE1 TAIL, -EBADMSG, "TOI 1 listed twice");
	expect(HEAD FILE1 "<File TOI=\"2\" Content-Location=\"a\" Content-Length=\"3\" " SHA "/>" TAIL,
	       -EBADMSG, "a listed twice");
	expect(HEAD "<File TOI=\"1\" Content-Location=\"a\" Content-Length=\"3\" " SHA ">" TAIL,
	       -EBADMSG, "");
	expect(HEAD "<File TOI=\"1\"Content-Location=\"a\" Content-Length=\"3\" " SHA "/>" TAIL,
	       -EBADMSG, "malformed");
	expect(HEAD "<File TOI=1 Content-Location=\"a\" Content-Length=\"3\" " SHA "/>" TAIL,
	       -EBADMSG, "not quoted");
	expect(HEAD "<File TOI=\"1 Content-Location=\"a\" Content-Length=\"3\" " SHA "/>" TAIL,
	       -EBADMSG, "");
	expect("<FDT-Instance xmlns=\"urn:evil\">" TAIL, -EBADMSG, "namespace");
	/* truncation at every length of a valid instance is refused */
	const char *ok = HEAD FILE1 TAIL;
	for (size_t cut = 0; cut < strlen(ok) - strlen(TAIL) + 14; cut++) {
		struct flute_fdt fdt;
		int rc = flute_fdt_parse(&fdt, ok, cut);

		flute_fdt_release(&fdt);
		CHECK_MSG(rc == -EBADMSG, "cut at %zu: %d", cut, rc);
	}
}

static void test_limits(void)
{
	struct flute_fdt fdt;
	AUTO_FREE char *big = mem_alloc(LIMIT_PATH_BYTES + 200);

	CHECK(big);
	strcpy(big, HEAD "<File TOI=\"1\" Content-Location=\"");
	size_t n = strlen(big);
	memset(big + n, 'a', LIMIT_PATH_BYTES + 1);
	big[n + LIMIT_PATH_BYTES + 1] = '\0';
	strcat(big, "\"/>" TAIL);
	CHECK_EQ_I(flute_fdt_parse(&fdt, big, strlen(big)), -EBADMSG);
	CHECK(strstr(err_detail(), "over 4096"));
	flute_fdt_release(&fdt);
	CHECK_EQ_I(flute_fdt_parse(&fdt, big, FLUTE_FDT_MAX_BYTES + 1), -EFBIG);
	flute_fdt_release(&fdt);
}

static void test_alloc_failures(void)
{
	const char *ok = HEAD FILE1 "<File TOI='2' Content-Location='b' Content-Length='0' " SHA "/>" TAIL;

	for (long n = 0;; n++) {
		struct flute_fdt fdt;
		int rc;

		mem_fail_after(n);
		rc = flute_fdt_parse(&fdt, ok, strlen(ok));
		mem_fail_after(-1);
		flute_fdt_release(&fdt);
		if (rc == 0)
			break;
		CHECK_MSG(rc == -ENOMEM, "allocation %ld: %d", n, rc);
		CHECK(n < 100);
	}
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "FDT XML as written", test_write },
		{ "FDT round trip with escapes and big values", test_round_trip },
		{ "FDT parser refusals", test_refusals },
		{ "FDT limits", test_limits },
		{ "FDT allocation failures unwind", test_alloc_failures },
		{ 0 },
	});
}
