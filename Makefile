# Thin wrapper around Meson.  `make demo` and `make check` install what is
# missing first (scripts/install-deps.sh is quiet when all is there).

BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=
SUITES     ?= unit qtest guest functional
# Real firmware and boot loader boots, and the idle machine's wake-up count
# (tens of seconds of waiting each, nothing ASan would add): the normal
# build only.
FIRST_BUILD_SUITES ?= firmware idle
# Seconds each fuzz target (fuzz/) runs in `make check`: a smoke run that
# keeps the whole check under 20 minutes; `make fuzz` is the campaign.
CHECK_FUZZ_SECONDS ?= 3

.PHONY: all deps check-deps build build-asan demo check check-fast bench fuzz clean

# A plain `make` installs nothing (that needs root); on a machine that lacks
# a package it stops with one line naming what is missing and how to get it.
all: build

deps:
	@scripts/install-deps.sh

check-deps:
	@scripts/install-deps.sh --check

$(BUILD)/build.ninja: | check-deps
	meson setup $(BUILD) $(MESON_OPTS)

$(ASAN_BUILD)/build.ninja: | check-deps
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined \
	    -Db_lundef=false $(MESON_OPTS)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

# Boots the bundled demo guest: a guest-kit payload that prints over the
# serial port and exits through isa-debug-exit.
demo: deps build
	@scripts/demo.sh $(BUILD)

# Both flavours, all default suites, one summary line at the end.
check: deps build build-asan
	@scripts/run-tests.py --build $(BUILD) --build $(ASAN_BUILD) \
	    --suites "$(SUITES)" --first-build-suites "$(FIRST_BUILD_SUITES)" \
	    --fuzz-seconds $(CHECK_FUZZ_SECONDS)

# The normal build only (quicker while developing).
check-fast: deps build
	@scripts/run-tests.py --build $(BUILD) --suites "$(SUITES)" \
	    --first-build-suites "$(FIRST_BUILD_SUITES)"

bench: deps build
	@scripts/run-bench.sh $(BUILD)

# Every libFuzzer target for FUZZ_SECONDS each (build-fuzz, clang).
fuzz: deps
	@scripts/run-fuzz.sh build-fuzz $(or $(FUZZ_SECONDS),60)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
