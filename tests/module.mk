# tests/: unit tests (tests/<module>/test_*.c, one binary each), fuzz
# targets replayed over their corpus, and helper tools for integration tests.
#
#   tests/<module>/test_*.c     -> $(B)/tests/<module>/test_*   (run by tests/run.sh)
#   tests/fuzz/fuzz_<name>.c    -> $(B)/tests/fuzz/replay_<name> (replays tests/fuzz/corpus/<name>/)
#                                  and, with `make fuzz` (clang), a libFuzzer binary
#   tests/tools/<tool>.c        -> $(B)/tests/tools/<tool>       (used by integration tests, bench, demo)
#
# A test that needs extra link flags sets TEST_LIBS_<binary name> in a
# tests/<module>/extra.mk fragment.
TEST_SRCS := $(wildcard tests/core/test_*.c tests/packager/test_*.c tests/manifests/test_*.c \
	tests/sync/test_*.c tests/satellite/test_*.c)
TEST_BINS += $(TEST_SRCS:%.c=$(B)/%)

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY_BINS := $(patsubst tests/fuzz/fuzz_%.c,$(B)/tests/fuzz/replay_%,$(FUZZ_SRCS))
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS += $(TOOL_SRCS:%.c=$(B)/%)

-include $(wildcard tests/*/extra.mk)

$(B)/tests/harness.o: tests/harness.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"; $(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "  CC  $<"; $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay_main.c $(LIB) $(PKG_LIBS)

$(B)/tests/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "  CC  $<"; $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

# libFuzzer builds (clang-14), for finding new corpus entries by hand:
#   make fuzz && build/fuzz/fuzz_pointer tests/fuzz/corpus/pointer
fuzz: $(patsubst tests/fuzz/fuzz_%.c,build/fuzz/fuzz_%,$(FUZZ_SRCS))
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c
	@mkdir -p build/fuzz
	clang-14 -std=gnu11 -I. -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) -o $@ $< \
		$(filter-out cmd/%,$(LIB_SRCS)) $(PKG_LIBS)
