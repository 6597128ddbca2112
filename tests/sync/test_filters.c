/*
 * test_filters.c — a subscription's path filters (sync/store_filters.c):
 * prefixes are checked and normalized, match whole path components only,
 * are kept one way per channel (whole or prefixes, never both), removing
 * the last is refused, and what the store holds is the installed set
 * narrowed by the subscription.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "core/fsx.h"
#include "core/mem.h"
#include "sync/store.h"
#include "tests/harness.h"

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOmz8RX1HQ1WczhRnAD2pfA/Qk6shmI50OfJpjmvH08q t\n"

static void test_normalize(void)
{
	static const char *const bad[] = { "", "/", "../etc", "a/../b", "/abs", "a//b", "./a" };
	char *p = NULL;

	CHECK_OK(store_filter_normalize(&p, "七年级/"));
	CHECK_STR(p, "七年级");
	mem_free(p);
	CHECK_OK(store_filter_normalize(&p, "modules/m1/index.cnxml"));
	CHECK_STR(p, "modules/m1/index.cnxml");
	mem_free(p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = NULL;
		CHECK_MSG(store_filter_normalize(&p, bad[i]) == -EINVAL, "accepted \"%s\"", bad[i]);
		CHECK(p == NULL);
	}
}

static void test_match(void)
{
	const char *const f[] = { "a/b", "七年级", NULL };
	const char *const none[] = { NULL };

	CHECK(store_filter_match(f, "a/b"));
	CHECK(store_filter_match(f, "a/b/c.txt"));
	CHECK(!store_filter_match(f, "a/bc"));
	CHECK(!store_filter_match(f, "a"));
	CHECK(store_filter_match(f, "七年级/数学/1.pdf"));
	CHECK(!store_filter_match(f, "七年级上/1.pdf"));
	CHECK(store_filter_match(NULL, "anything"));
	CHECK(!store_filter_match(none, "anything"));
	CHECK(store_filters_equal(NULL, NULL));
	CHECK(!store_filters_equal(NULL, none));
	CHECK(!store_filters_equal(f, none));
	CHECK(store_filters_equal(f, f));
}

static struct store *fresh_store(const char *name)
{
	AUTO_FREE char *root = fs_join(t_tmpdir(), name);
	AUTO_FREE char *key = fs_join(t_tmpdir(), "k.pub");
	const char *keys[1] = { key };
	struct store *st = NULL;

	CHECK(root && key);
	CHECK_OK(fs_write_atomic(key, KEY, strlen(KEY)));
	CHECK_OK(store_init(root, keys, 1));
	CHECK_OK(store_open(&st, root));
	return st;
}

static char *text_of(char **f)
{
	char *t = store_filters_text((const char *const *)f);

	store_filters_free(f);
	return t;
}

static void test_subscribe(void)
{
	struct store *st = fresh_store("sub");
	const char *const two[] = { "b/", "a", "a/x", "b" };
	const char *const one[] = { "a" };
	const char *const missing[] = { "zz" };
	char **f = NULL;
	AUTO_FREE char *t1 = NULL;
	AUTO_FREE char *t2 = NULL;

	CHECK(store_subscription_get(&f, st, "ch") == -ENOENT);
	CHECK_OK(store_subscribe(st, "ch", NULL, 0));
	CHECK_OK(store_subscription_get(&f, st, "ch"));
	CHECK(f == NULL); /* the whole channel */
	CHECK_OK(store_subscribe(st, "ch", two, 4));
	CHECK_OK(store_subscription_get(&f, st, "ch"));
	t1 = text_of(f);
	CHECK_STR(t1, "a, b"); /* sorted, duplicates and nested prefixes dropped */
	CHECK(store_unsubscribe(st, "ch", missing, 1) == -ENOENT);
	CHECK_OK(store_unsubscribe(st, "ch", (const char *const[]){ "b/" }, 1));
	CHECK(store_unsubscribe(st, "ch", one, 1) == -EINVAL); /* the last one */
	CHECK_OK(store_subscription_get(&f, st, "ch"));
	t2 = text_of(f);
	CHECK_STR(t2, "a");
	CHECK(store_subscribe(st, "Bad Name", NULL, 0) == -EINVAL);
	CHECK_OK(store_unsubscribe(st, "ch", NULL, 0));
	CHECK(store_subscription_get(&f, st, "ch") == -ENOENT);
	CHECK(store_unsubscribe(st, "ch", NULL, 0) == -ENOENT);
	store_close(st);
}

/* Held = installed narrowed by the subscription. */
static void test_held(void)
{
	struct store *st = fresh_store("held");
	const char *const inst[] = { "a", "b/c", NULL };
	const char *const want[] = { "a/x", "b", "d" };
	char **f = NULL;
	AUTO_FREE char *t1 = NULL;
	AUTO_FREE char *t2 = NULL;
	AUTO_FREE char *t3 = NULL;
	AUTO_FREE char *t4 = NULL;

	CHECK_OK(store_subscribe(st, "ch", NULL, 0));
	CHECK_OK(store_held_filters_get(&f, st, "ch"));
	CHECK(f == NULL); /* nothing recorded: the whole channel */
	CHECK_OK(store_installed_filters_put(st, "ch", inst));
	CHECK_OK(store_held_filters_get(&f, st, "ch"));
	t1 = text_of(f);
	CHECK_STR(t1, "a, b/c");
	CHECK_OK(store_subscribe(st, "ch", want, 3));
	CHECK_OK(store_held_filters_get(&f, st, "ch"));
	t2 = text_of(f);
	CHECK_STR(t2, "a/x, b/c");
	CHECK_OK(store_subscribe(st, "ch", (const char *const[]){ "d" }, 1));
	CHECK_OK(store_held_filters_get(&f, st, "ch"));
	CHECK(f && f[0] == NULL); /* disjoint: nothing held */
	t3 = text_of(f);
	CHECK_STR(t3, "");
	CHECK_OK(store_installed_filters_get(&f, st, "ch"));
	t4 = text_of(f);
	CHECK_STR(t4, "a, b/c");
	CHECK_OK(store_installed_filters_put(st, "ch", NULL));
	CHECK_OK(store_installed_filters_get(&f, st, "ch"));
	CHECK(f == NULL);
	store_close(st);
}

int main(void)
{
	return t_main((struct t_case[]){ { "prefixes are checked and normalized", test_normalize },
					 { "prefixes match whole path components", test_match },
					 { "subscribe and unsubscribe", test_subscribe },
					 { "held = installed narrowed by the subscription", test_held },
					 { 0 } });
}
