/*
 * test_usb.c — the pieces of the USB sneakernet that need no stick: which
 * names a FAT stick can hold, and the request file's strict parser.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "sync/usb.h"
#include "tests/harness.h"

static void test_fat_names(void)
{
	static const char *const good[] = {
	    "ferry.json",
	    "heads/renjiao/grade7/math",
	    "packs/ab/ab12.pack",
	    "manifests.git/refs/heads/a.b",
	    "数学/七年级.txt",
	    "com10",
	    "console",
	};
	static const char *const bad[] = {
	    "a:b",  "heads/a*b", "x?",	 "say\"",  "a<b",	"a>b",
	    "a|b",  "a\\b",	 "dot.", "space ", "heads/CON", "aux.txt",
	    "lpt1", "Com3.json", "a//b", "",	   "/abs",	"tab\there",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_MSG(usb_fat_name_check(good[i]) == 0, "refused %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(usb_fat_name_check(bad[i]) == -EINVAL, "accepted %s", bad[i]);
	CHECK(usb_fat_name_check("a:b") == -EINVAL && strstr(err_detail(), "':'"));
}

#define HEAD                                                                                       \
	"{\"format\":\"ferry-usb-request\",\"version\":1,\"repo\":"                                \
	"\"0123456789abcdef0123456789abcdef\",\"created\":5,\"channels\":["
#define CH(name, extra)                                                                            \
	"{\"name\":\"" name "\",\"installed\":0,\"commit\":\"\","                                  \
	"\"pending\":0,\"missing_bytes\":0,\"paths\":[]" extra "}"

static int parse(const char *s)
{
	struct usb_request q;
	int r = usb_request_parse(&q, s, strlen(s));

	usb_request_release(&q);
	return r;
}

static void test_request_round_trip(void)
{
	struct usb_request q, p;
	struct buf b;

	memset(&q, 0, sizeof(q));
	memcpy(q.repo, "0123456789abcdef0123456789abcdef", 33);
	q.created = 77;
	q.n = 2;
	strcpy(q.ch[0].name, "renjiao/grade7/math");
	q.ch[0].installed = 3;
	strcpy(q.ch[0].commit, "feb345db45d1f5f5f74ce3aea37674fecefc3a35");
	q.ch[0].npaths = 1;
	q.ch[0].paths[0] = strdup("七年级/");
	strcpy(q.ch[1].name, "art");
	q.ch[1].pending = 2;
	q.ch[1].missing_bytes = 1000;
	buf_init(&b, 1u << 20);
	CHECK(usb_request_format(&b, &q) == 0);
	CHECK(usb_request_parse(&p, b.data, b.len) == 0);
	CHECK_EQ_U(p.n, 2);
	CHECK(strcmp(p.ch[0].name, "renjiao/grade7/math") == 0 && p.ch[0].installed == 3);
	CHECK(strcmp(p.ch[0].commit, q.ch[0].commit) == 0);
	CHECK(p.ch[0].npaths == 1 && strcmp(p.ch[0].paths[0], "七年级/") == 0);
	CHECK(p.ch[1].pending == 2 && p.ch[1].missing_bytes == 1000 && p.created == 77);
	usb_request_release(&p);
	free(q.ch[0].paths[0]);
	buf_release(&b);
}

static void test_request_refusals(void)
{
	CHECK(parse(HEAD CH("math", "") "]}") == 0);
	CHECK(parse(HEAD "]}") == 0);
	CHECK(parse(HEAD CH("a:b", "") "]}") == -EBADMSG);
	CHECK(parse(HEAD CH("Math", "") "]}") == -EBADMSG);
	CHECK(parse(HEAD CH("m", "") "," CH("m", "") "]}") == -EBADMSG);
	CHECK(parse(HEAD CH("m", ",\"x\":1") "]}") == -EBADMSG);
	CHECK(parse(HEAD CH("m", "") "],\"extra\":true}") == -EBADMSG);
	CHECK(parse(HEAD "],\"channels\":[]}") == -EBADMSG);
	CHECK(parse("{\"format\":\"other\"}") == -EBADMSG);
	CHECK(parse("[]") == -EBADMSG);
	CHECK(parse("") == -EBADMSG);
	CHECK(parse(HEAD "{\"name\":\"m\",\"installed\":2,\"commit\":\"\",\"pending\":0,"
			 "\"missing_bytes\":0,\"paths\":[]}]}") == -EBADMSG);
	CHECK(parse(HEAD "{\"name\":\"m\",\"installed\":0,\"commit\":\"\",\"pending\":-1,"
			 "\"missing_bytes\":0,\"paths\":[]}]}") == -EBADMSG);
	CHECK(parse(HEAD "{\"name\":\"m\",\"installed\":0,\"commit\":\"\",\"pending\":0,"
			 "\"missing_bytes\":0,\"paths\":[\"../x\"]}]}") == -EBADMSG);
	CHECK(parse(HEAD "{\"name\":\"m\",\"installed\":1,\"commit\":\"FEB345DB45D1F5F5F74CE3AE"
			 "A37674FECEFC3A35\",\"pending\":0,\"missing_bytes\":0,\"paths\":[]}]}") ==
	      -EBADMSG);
}

static void test_request_too_large(void)
{
	size_t n = USB_REQUEST_MAX_BYTES + 1;
	char *big = malloc(n);
	struct usb_request q;

	CHECK(big);
	memset(big, ' ', n);
	CHECK(usb_request_parse(&q, big, n) == -EFBIG);
	free(big);
}

int main(void)
{
	return t_main((struct t_case[]){
	    {"names a FAT stick can and cannot hold", test_fat_names},
	    {"a request formats and parses back the same", test_request_round_trip},
	    {"malformed or hostile requests are refused", test_request_refusals},
	    {"a request past its size limit is refused before parsing", test_request_too_large},
	    {0}});
}
