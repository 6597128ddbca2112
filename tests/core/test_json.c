/*
 * test_json.c — JSON reader and writer.
 */
#include "core/json_read.h"
#include "core/json_write.h"
#include "core/mem.h"
#include "tests/harness.h"

static void test_round_trip(void)
{
	struct buf b;
	struct jw w;
	struct json_doc *d;
	const struct json_node *arr;
	const char *s;
	int64_t v;

	buf_init(&b, 4096);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_key(&w, "name");
	jw_str(&w, "七年级/数学 \"quoted\"\n");
	jw_key(&w, "n");
	jw_i64(&w, -42);
	jw_key(&w, "list");
	jw_arr_begin(&w);
	jw_u64(&w, 1);
	jw_bool(&w, true);
	jw_null(&w);
	jw_arr_end(&w);
	jw_obj_end(&w);
	CHECK_OK(jw_error(&w));
	CHECK_OK(json_parse(&d, (const char *)b.data, b.len));
	CHECK_OK(json_get_str(&s, json_root(d), "name"));
	CHECK_STR(s, "七年级/数学 \"quoted\"\n");
	CHECK_OK(json_get_int(&v, json_root(d), "n"));
	CHECK_EQ_I(v, -42);
	arr = json_get(json_root(d), "list");
	CHECK(arr && arr->type == JSON_ARRAY && arr->len == 3);
	CHECK(json_get_int(&v, json_root(d), "missing") == -EBADMSG);
	json_free(d);
	buf_release(&b);
}

static void test_refusals(void)
{
	static const char *bad[] = {
		"", "{", "{\"a\":1,}", "[1,]", "{\"a\":1,\"a\":2}", "01", "1.5", "\"\\ud800\"",
		"\"a\nb\"", "[1] x", "99999999999999999999", "\"\\u0000\"", "tru",
	};
	struct json_doc *d;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_MSG(json_parse(&d, bad[i], strlen(bad[i])) == -EBADMSG, "accepted: %s", bad[i]);
}

static void test_unicode_escapes(void)
{
	const char *in = "\"\\u4e03\\ud83d\\ude00\"";
	struct json_doc *d;

	CHECK_OK(json_parse(&d, in, strlen(in)));
	CHECK_STR(json_root(d)->str, "七😀");
	json_free(d);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "writer output parses back", test_round_trip },
		{ "malformed documents are refused", test_refusals },
		{ "unicode escapes decode to UTF-8", test_unicode_escapes },
		{ 0 } });
}
