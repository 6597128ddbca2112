# ferry — one non-recursive Makefile.
#
#   make                 build build/$(MODE)/ferry (MODE=debug by default)
#   make MODE=release    optimized build
#   make MODE=san        AddressSanitizer + UBSan build
#   make check           install test deps, build MODE=san, run every test
#   make bench           build MODE=release, run the side-by-side benchmarks
#   make demo            the README's main job on built-in sample content
#   make deps            install Debian build and test dependencies
#   make layering        check the module dependency order (docs/architecture.md)
#
# Each module lists its files in <module>/module.mk; this file owns the rules.

MODE ?= debug
B := build/$(MODE)

CC ?= gcc
PKGS := libzstd libgit2 zlib libssh2 libcurl sqlite3 libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-unused-parameter -Wvla -Wimplicit-fallthrough
CFLAGS_COMMON := -std=gnu11 -I. $(WARN) $(PKG_CFLAGS) -MMD -MP -D_FILE_OFFSET_BITS=64

ifeq ($(MODE),release)
CFLAGS_MODE := -O2 -g -DNDEBUG
else ifeq ($(MODE),san)
CFLAGS_MODE := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS_MODE := -fsanitize=address,undefined
else ifeq ($(MODE),debug)
CFLAGS_MODE := -O0 -g
else
$(error MODE must be debug, release or san)
endif

ALL_CFLAGS = $(CFLAGS_COMMON) $(CFLAGS_MODE) $(CFLAGS)
ALL_LDFLAGS = $(LDFLAGS_MODE) $(LDFLAGS)

.DEFAULT_GOAL := all
LIB_SRCS :=
CMD_SRCS :=
TEST_BINS :=
FUZZ_TARGETS :=
TOOL_BINS :=
# Set before the module fragments, whose rules list $(LIB) as a prerequisite.
LIB := $(B)/libferry.a
FERRY := $(B)/ferry

include core/module.mk
include packager/module.mk
include manifests/module.mk
include sync/module.mk
include satellite/module.mk
include cmd/module.mk
include tests/module.mk

LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
CMD_OBJS := $(CMD_SRCS:%.c=$(B)/%.o)

.PHONY: all check bench demo deps layering clean tests tools fuzz format
all: $(FERRY)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"; $(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(FERRY): $(CMD_OBJS) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJS) $(LIB) $(PKG_LIBS)

# Test programs: tests/<module>/test_x.c -> $(B)/tests/<module>/test_x
$(B)/tests/%: tests/%.c $(B)/tests/harness.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  CC  $<"; $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/tests/harness.o $(LIB) $(PKG_LIBS) $(TEST_LIBS_$(notdir $@))

tests: $(FERRY) $(TEST_BINS) $(TOOL_BINS) $(FUZZ_REPLAY_BINS)
# The helper tools alone, in this MODE (make demo builds them for release).
tools: $(TOOL_BINS)

deps:
	tests/deps.sh

check:
	tests/deps.sh
	$(MAKE) MODE=san tests layering
	MODE=san tests/run.sh

bench:
	tests/deps.sh --bench
	$(MAKE) MODE=release tests
	bench/run.sh

demo:
	tests/deps.sh
	$(MAKE) MODE=release all tools
	MODE=release contrib/demo.sh

layering:
	tests/layering.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
