# peerd -- top-level Makefile (GNU make, no recursion).
#
#   make            build peerd, peer, peerctl and the libraries
#   make run        dev certificates, a private Redis, peerd in the foreground
#   make test       build and run the whole suite (unit + integration)
#   make bench      benchmarks (not tests)
#   make fuzz       libFuzzer harnesses, FUZZ_SECONDS each (clang)
#   make memcheck   the integration tests with peerd under valgrind
#   make install    PREFIX=/usr/local DESTDIR=
#   make SANITIZER=address|undefined ...   sanitized build under build/SANITIZER
#   make CC=clang ...
#
# Sources are found by folder, so adding a file needs no edit here:
#   proto/*.c                      -> libproto.a (with the protoc-c output)
#   matcher/*.c                    -> libmatcher.a
#   daemon/*.c except peerd.c      -> libpeerd.a, daemon/peerd.c -> peerd
#   client/peer.c client/peer_*.c  -> peer
#   client/peerctl*.c              -> peerctl
#   other client/*.c               -> libpeerclient.a
#   tests/unit/test_*.c            -> one cmocka binary each
#   tests/integration/test_*.c     -> one cmocka binary each, linked with
#                                     tests/integration/[^t]*.c (the harness)
#   tests/bench/bench_*.c          -> one benchmark each

.DEFAULT_GOAL := all

SANITIZER ?=
BUILD	  ?= build$(if $(SANITIZER),/$(SANITIZER))
PREFIX	  ?= /usr/local
DESTDIR	  ?=
VERSION	  := 0.1.0

CFLAGS	  ?= -O2 -g

# Quiet by default; `make V=1` shows every command.
ifeq ($(V),1)
say :=
else
say = @printf '  %-7s %s\n' $(1) $(2);
endif
WARNINGS  := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wmissing-prototypes \
	     -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DPEERD_VERSION='"$(VERSION)"' $(CFLAGS) \
	     $(WARNINGS) -MMD -MP $(SAN_FLAGS) $(PKG_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SAN_FLAGS)

ifeq ($(SANITIZER),address)
SAN_FLAGS := -fsanitize=address -fno-omit-frame-pointer
else ifeq ($(SANITIZER),undefined)
SAN_FLAGS := -fsanitize=undefined -fno-sanitize-recover=all
else ifneq ($(SANITIZER),)
$(error SANITIZER must be address or undefined)
endif

# build/config.mk holds pkg-config's answers; making it installs what is missing.
NO_CONFIG_GOALS := clean distclean help
ifneq ($(filter-out $(NO_CONFIG_GOALS),$(or $(MAKECMDGOALS),all)),)
include $(BUILD)/config.mk
endif

PKG_MODULES := libevent libevent_openssl openssl libprotobuf-c hiredis

$(BUILD)/config.mk: deploy/deps.sh Makefile
	@mkdir -p $(@D)
	@deploy/deps.sh build
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKG_MODULES))"; \
	   echo "PKG_LIBS := $$(pkg-config --libs $(PKG_MODULES)) -lm"; \
	   echo "CMOCKA_LIBS := $$(pkg-config --libs cmocka)"; } > $@.tmp
	@mv $@.tmp $@

# ---- sources ------------------------------------------------------------

GEN_DIR	     := $(BUILD)/gen
GEN_SRCS     := $(GEN_DIR)/peer.pb-c.c
GEN_HDRS     := $(GEN_DIR)/peer.pb-c.h

PROTO_SRCS   := $(wildcard proto/*.c)
MATCHER_SRCS := $(wildcard matcher/*.c)
DAEMON_MAIN  := daemon/peerd.c
DAEMON_SRCS  := $(filter-out $(DAEMON_MAIN),$(wildcard daemon/*.c))
PEER_SRCS    := $(if $(wildcard client/peer.c),$(wildcard client/peer.c client/peer_*.c))
PEERCTL_SRCS := $(if $(wildcard client/peerctl.c),$(wildcard client/peerctl*.c))
LIBPC_SRCS   := $(filter-out client/peer.c client/peer_%.c client/peerctl%.c,$(wildcard client/*.c))
UNIT_SRCS    := $(wildcard tests/unit/test_*.c)
UNIT_COMMON  := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
INTEG_SRCS   := $(wildcard tests/integration/test_*.c)
INTEG_COMMON := $(filter-out $(INTEG_SRCS),$(wildcard tests/integration/*.c))
BENCH_SRCS   := $(wildcard tests/bench/bench_*.c)
BENCH_COMMON := $(filter-out $(BENCH_SRCS),$(wildcard tests/bench/*.c))
TLIB_SRCS    := $(wildcard tests/lib/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIBPROTO     := $(BUILD)/libproto.a
LIBMATCHER   := $(BUILD)/libmatcher.a
LIBPEERD     := $(BUILD)/libpeerd.a
LIBPC	     := $(BUILD)/libpeerclient.a
PEERD	     := $(BUILD)/peerd
PEER	     := $(BUILD)/peer
PEERCTL	     := $(BUILD)/peerctl
# A program is built once its sources exist.
PROGS	     := $(PEERD) $(if $(PEER_SRCS),$(PEER)) $(if $(PEERCTL_SRCS),$(PEERCTL))
UNIT_BINS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
INTEG_BINS   := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(INTEG_SRCS))
BENCH_BINS   := $(patsubst tests/bench/%.c,$(BUILD)/tests/bench/%,$(BENCH_SRCS))

ALL_OBJS := $(call obj,$(PROTO_SRCS) $(MATCHER_SRCS) $(DAEMON_MAIN) $(DAEMON_SRCS) \
	    $(PEER_SRCS) $(PEERCTL_SRCS) $(LIBPC_SRCS) $(UNIT_SRCS) $(UNIT_COMMON) \
	    $(INTEG_SRCS) $(INTEG_COMMON) $(BENCH_SRCS) $(BENCH_COMMON) \
	    $(TLIB_SRCS)) \
	    $(GEN_SRCS:.c=.o)

# Layering is enforced by include paths: the matcher sees only itself, the
# client never sees daemon headers, only the daemon sees the matcher.
INC_PROTO := -Iproto -I$(GEN_DIR)
$(BUILD)/proto/%.o:   INCS := $(INC_PROTO)
$(BUILD)/gen/%.o:     INCS := $(INC_PROTO)
$(BUILD)/matcher/%.o: INCS := -Imatcher
$(BUILD)/daemon/%.o:  INCS := -Idaemon -Imatcher $(INC_PROTO)
$(BUILD)/client/%.o:  INCS := -Iclient $(INC_PROTO)
$(BUILD)/tests/%.o:   INCS := -Itests -Itests/integration -Idaemon -Imatcher -Iclient $(INC_PROTO)

# ---- rules --------------------------------------------------------------

.PHONY: all run test test-unit test-integration bench bench-matcher install \
	uninstall clean distclean help deps

all: $(PROGS) $(LIBPC)

deps: $(BUILD)/config.mk

# Rebuild everything when the compiler or flags change.
$(BUILD)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || \
	    echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@
FORCE:

# Keep objects that pattern rules chain through (test .o files).
.SECONDARY:

$(GEN_DIR)/peer.pb-c.c $(GEN_DIR)/peer.pb-c.h &: proto/peer.proto $(BUILD)/config.mk
	@mkdir -p $(GEN_DIR)
	$(call say,PROTOC,$<)protoc-c --proto_path=proto --c_out=$(GEN_DIR) proto/peer.proto

$(BUILD)/%.o: %.c $(BUILD)/.flags | $(GEN_HDRS)
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) $(INCS) -c -o $@ $<

# Generated code: our warning set, minus what protoc-c's output trips.
$(BUILD)/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/.flags
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(INCS) -c -o $@ $<

$(LIBPROTO): $(call obj,$(PROTO_SRCS)) $(GEN_SRCS:.c=.o)
$(LIBMATCHER): $(call obj,$(MATCHER_SRCS))
$(LIBPEERD): $(call obj,$(DAEMON_SRCS))
$(LIBPC): $(call obj,$(LIBPC_SRCS))
$(BUILD)/%.a:
	@mkdir -p $(@D)
	@rm -f $@
	$(call say,AR,$@)$(AR) rcs $@ $^

$(PEERD): $(call obj,$(DAEMON_MAIN)) $(LIBPEERD) $(LIBMATCHER) $(LIBPROTO)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(PEER): $(call obj,$(PEER_SRCS)) $(LIBPC) $(LIBPROTO)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(PEERCTL): $(call obj,$(PEERCTL_SRCS)) $(LIBPC) $(LIBPROTO)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

TEST_LIBS := $(LIBPEERD) $(LIBPC) $(LIBMATCHER) $(LIBPROTO)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(call obj,$(UNIT_COMMON)) $(TEST_LIBS)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)
$(BUILD)/tests/integration/%: $(BUILD)/tests/integration/%.o $(call obj,$(INTEG_COMMON) $(TLIB_SRCS)) $(TEST_LIBS)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)
$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(call obj,$(BENCH_COMMON) $(TLIB_SRCS)) $(TEST_LIBS)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# ---- running ------------------------------------------------------------

run: all
	@deploy/dev-run.sh $(BUILD)

TEST_ENV = PEERD_BIN=$(abspath $(PEERD)) PEER_BIN=$(abspath $(PEER)) \
	   PEERCTL_BIN=$(abspath $(PEERCTL)) PEERD_SRC=$(CURDIR)

# Packages the tests drive (tmux, Chromium), checked once per build dir.
$(BUILD)/.test-deps: deploy/deps.sh
	@deploy/deps.sh test
	@touch $@

test: all $(UNIT_BINS) $(INTEG_BINS) $(BUILD)/.test-deps
	@$(TEST_ENV) tests/run.sh $(UNIT_BINS) $(INTEG_BINS)

test-unit: $(UNIT_BINS)
	@$(TEST_ENV) tests/run.sh $(UNIT_BINS)

test-integration: all $(INTEG_BINS) $(BUILD)/.test-deps
	@$(TEST_ENV) tests/run.sh $(INTEG_BINS)

bench-matcher: $(BUILD)/tests/bench/bench_matcher
	$(BUILD)/tests/bench/bench_matcher

bench: bench-matcher

# Fragments owned by their folders add targets: fuzz (make fuzz), the
# relay benchmark (make bench), valgrind (make memcheck).
-include tests/fuzz/fuzz.mk tests/bench/bench.mk tests/memcheck.mk

# ---- installing ---------------------------------------------------------

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/share/peerd
	install -m 0755 $(PEERD) $(DESTDIR)$(PREFIX)/sbin/peerd
	install -m 0755 $(filter-out $(PEERD),$(PROGS)) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(LIBPC) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 client/peerclient.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 deploy/peerd.conf.example deploy/tags.conf \
	    $(DESTDIR)$(PREFIX)/share/peerd/
	for m in $(wildcard deploy/*.[1-8]); do \
	    s=$${m##*.}; install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
	    install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/peerd $(DESTDIR)$(PREFIX)/bin/peer \
	    $(DESTDIR)$(PREFIX)/bin/peerctl $(DESTDIR)$(PREFIX)/lib/libpeerclient.a \
	    $(DESTDIR)$(PREFIX)/include/peerclient.h
	rm -rf $(DESTDIR)$(PREFIX)/share/peerd

clean:
	rm -rf build

distclean: clean
	rm -rf run

help:
	@sed -n '2,12s/^# \{0,1\}//p' Makefile

-include $(ALL_OBJS:.o=.d)
