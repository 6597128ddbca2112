# tests/: unit tests (tests/<module>/test_*.c, one binary each), fuzz
# targets replayed over their corpus, and helper tools for integration tests.
TEST_SRCS := $(wildcard tests/core/test_*.c tests/packager/test_*.c tests/manifests/test_*.c \
	tests/sync/test_*.c tests/satellite/test_*.c)
TEST_BINS += $(TEST_SRCS:%.c=$(B)/%)

$(B)/tests/harness.o: tests/harness.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
