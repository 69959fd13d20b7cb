# cobble: one non-recursive Makefile. `make run` and `make test` are the README's two commands.
#   make            build build/cobble and the unit tests
#   make run        install what is missing, build, start cobble on its embedded default
#   make test       install, build (plain and ASan/UBSan), run every unit and end-to-end test
#   make asan       build and run every suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       build the libFuzzer targets and run each for FUZZ_SECONDS
#   make tsan       ThreadSanitizer over the suites that drive the store, VA and issuer pools
#   make soak       concurrent real flows with injected faults for SOAK_SECONDS (default 120)
#   make bench      cobble against Debian's Pebble with test/bench/loadgen (bench-sweep: a PNG)
#   V=1             show each compiler command instead of the short "CC file" lines
BUILD     ?= build
CC        ?= cc
PKGS      := libmicrohttpd openssl jansson getdns libpsl libidn2 libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN      := -Wall -Wextra -Wformat=2 -Wshadow -Werror -Wno-unused-parameter
CFLAGS    ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -I. $(PKG_CFLAGS) -MMD -MP
LDLIBS    := $(PKG_LIBS) -lpthread
TEST_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

COMMON_SRC := $(wildcard common/*.c)
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))
LIB_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(COMMON_SRC) $(SERVER_SRC))
UNIT_SRC   := $(wildcard test/unit/test_*.c)
UNIT_BIN   := $(patsubst test/unit/%.c,$(BUILD)/test/%,$(UNIT_SRC))
# test/unit/*.c that are not a suite (e.g. dns_fake.c, the DNS seam's fake) link into every suite
UNIT_LIB   := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(UNIT_SRC),$(wildcard test/unit/*.c)))
FUZZ_SRC   := $(wildcard test/fuzz/fuzz_*.c)
# each fuzz target also builds as a plain test that replays its seed corpus (test/fuzz/replay.c)
FUZZ_REPLAY := $(patsubst test/fuzz/%.c,$(BUILD)/test/test_%,$(FUZZ_SRC))

# Quiet build lines ("CC server/va.c") so that warnings stand out; `make V=1` shows each command.
ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @printf '  %-3s %s\n' $(1) $(2)
endif

.PHONY: all deps run test test-only asan fuzz tsan soak clean
# keep the unit tests' objects (make would delete them as intermediates and relink every time)
.SECONDARY:
all: $(BUILD)/cobble $(UNIT_BIN) $(FUZZ_REPLAY) $(BUILD)/loadgen $(BUILD)/persist-rate

deps:
	@bash scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call quiet,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libcobble.a: $(LIB_OBJ)
	@rm -f $@
	$(call quiet,AR,$@)
	$(Q)ar rcs $@ $^

$(BUILD)/cobble: $(BUILD)/server/main.o $(BUILD)/libcobble.a
	$(call quiet,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ $(LDLIBS) $(EXTRA_LDFLAGS)

$(BUILD)/test/%: $(BUILD)/test/unit/%.o $(UNIT_LIB) $(BUILD)/libcobble.a
	@mkdir -p $(dir $@)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ $(TEST_LIBS) $(LDLIBS) $(EXTRA_LDFLAGS)

# The load generator (test/bench/): OpenSSL and jansson only, no cobble code, so it can drive
# any ACME server (make bench runs it against cobble and Pebble).
LOADGEN_SRC := test/bench/lg.c test/bench/loadgen.c
$(BUILD)/loadgen: $(patsubst %.c,$(BUILD)/%.o,$(LOADGEN_SRC))
	$(call quiet,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ $(PKG_LIBS) -lpthread -lm $(EXTRA_LDFLAGS)

# dns-persist-01 validations per second, the validator alone (common/dns + common/persist)
$(BUILD)/persist-rate: $(BUILD)/test/bench/persist_rate.o $(BUILD)/libcobble.a
	$(call quiet,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ $(LDLIBS) $(EXTRA_LDFLAGS)

# cobble and Debian's Pebble side by side (scripts/bench.sh); bench-sweep: concurrency 1..64 as a PNG
.PHONY: bench bench-sweep
bench:
	@bash scripts/bench.sh $(BUILD)
bench-sweep:
	@bash scripts/bench.sh --sweep $(BUILD)

$(BUILD)/test/test_fuzz_%: $(BUILD)/test/fuzz/fuzz_%.o $(BUILD)/test/fuzz/replay.o $(BUILD)/libcobble.a
	@mkdir -p $(dir $@)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ $(LDLIBS) $(EXTRA_LDFLAGS)

run:
	@bash scripts/install-deps.sh build
	@$(MAKE) --no-print-directory $(BUILD)/cobble
	./$(BUILD)/cobble $(ARGS)

# The suites run against both builds; the runner's last line is the summary.
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -O1" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" all
	@bash test/run.sh build build-asan

test-only:
	@bash test/run.sh $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -O1" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" all
	@bash test/run.sh build-asan

# The store, workq and issuer unit suites, and end-to-end suites whose flows run many requests and
# validations at once, on a ThreadSanitizer build; any report fails (halt_on_error).
TSAN_UNITS := test_store test_workq test_issuer test_va_results test_va_persist test_va_watchdog test_map
TSAN_E2E   := hostile shutdown protocol listeners front
tsan: deps
	@$(MAKE) --no-print-directory BUILD=build-tsan CC=clang \
	  EXTRA_CFLAGS="-fsanitize=thread -fno-omit-frame-pointer -O1" EXTRA_LDFLAGS="-fsanitize=thread" all
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" COBBLE_TSAN_UNITS="$(TSAN_UNITS)" \
	  COBBLE_TSAN_E2E="$(TSAN_E2E)" bash test/tsan.sh build-tsan

# 0 serverInternal, every order valid or invalid with a reason, RSS and fds flat after warm-up;
# SOAK_SECONDS=1800 for half an hour. The first time through `make test` it runs for 20 s.
SOAK_SECONDS ?= 120
soak: deps
	@$(MAKE) --no-print-directory all
	@timeout $$(( $(SOAK_SECONDS) + 300 )) unshare -n bash -c 'ip link set lo up && exec bash test/soak.sh "$$0"' $(SOAK_SECONDS)

FUZZ_SECONDS ?= 300
# FUZZ_TARGETS=test/fuzz/fuzz_dns.c runs one target
FUZZ_TARGETS ?= $(FUZZ_SRC)
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -O1" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" build-fuzz/libcobble.a
	@mkdir -p build-fuzz/bin
	@for f in $(FUZZ_TARGETS); do n=$$(basename $$f .c); \
	  clang -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined $$f build-fuzz/libcobble.a \
	    -o build-fuzz/bin/$$n $(LDLIBS) || exit 1; \
	  mkdir -p build-fuzz/corpus/$$n; \
	  build-fuzz/bin/$$n -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$n test/fuzz/corpus/$$n || exit 1; done

# The Docker setup (docker/), built and run with podman; see test/docker-test.sh.
.PHONY: docker-test
docker-test:
	@bash test/docker-test.sh

clean:
	rm -rf build build-asan build-fuzz build-tsan

# each build directory's own header dependencies (build-fuzz and build-tsan too)
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
