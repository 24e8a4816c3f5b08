# tests/bench/bench.mk -- the relay benchmark (bench_relay), included by
# the top-level Makefile.
#
#   make bench                      bench-matcher, then bench-relay
#   make bench-relay                every scenario against peerd, mosquitto
#                                   and openssl s_server (a few minutes)
#   make bench-relay BENCH_ARGS="--scenario relay --servers peerd --seconds 3"
#                                   one scenario, one server, shorter rounds
#
# bench_relay.c and its pieces (the other tests/bench/*.c) are built by the
# top-level rule for tests/bench/bench_*; bench_matcher links only its own
# object and the matcher (it needs none of the load generator).
# See tests/bench/README.md.

BENCH_RELAY := $(BUILD)/tests/bench/bench_relay
BENCH_ARGS  ?=

.PHONY: bench-relay

# mosquitto (and libmosquitto-dev) from Debian, checked once per build dir.
$(BUILD)/.bench-deps: deploy/deps.sh
	@mkdir -p $(@D)
	@deploy/deps.sh bench
	@touch $@

$(BUILD)/tests/bench/bench_matcher: $(BUILD)/tests/bench/bench_matcher.o $(LIBMATCHER)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench-relay: $(BENCH_RELAY) $(PEERD) $(BUILD)/.bench-deps
	@PEERD_BIN=$(abspath $(PEERD)) PEERD_SRC=$(CURDIR) $(BENCH_RELAY) $(BENCH_ARGS)

bench: bench-relay

# Under `make -j bench` the two benchmarks must not share the CPUs.
ifneq ($(filter bench,$(MAKECMDGOALS)),)
bench-relay: | bench-matcher
endif
