# tests/fuzz/fuzz.mk -- libFuzzer harnesses; included by the top-level
# Makefile.  See tests/fuzz/README.md.
#
#   make fuzz [FUZZ_SECONDS=60]              each harness FUZZ_SECONDS
#   make fuzz-short [FUZZ_SHORT_SECONDS=10]  each briefly; part of make test
#   make fuzz-build                          the harnesses only
#   make fuzz-seeds                          rewrite the generated seeds
#
# The sources a harness needs (proto/*.c, the protoc-c output, matcher/*.c,
# daemon/*.c but peerd.c) are compiled again with clang under
# $(BUILD)/fuzz/obj, instrumented for libFuzzer, ASan and UBSan, with the
# include paths the main build gives them.  Only the harnesses' own code
# is built with -Werror: a clang-only warning in a daemon file must not
# stop make test.

FUZZ_CC		   ?= clang
FUZZ_SECONDS	   ?= 60
FUZZ_SHORT_SECONDS ?= 10
FUZZ_FLAGS	   ?=
FUZZ_NAMES	   := frame credential config dispatch

FUZZ_DIR	:= $(BUILD)/fuzz
FUZZ_OBJ	:= $(FUZZ_DIR)/obj
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS	 = -std=c11 -D_GNU_SOURCE -DPEERD_VERSION='"$(VERSION)"' -O1 \
		   -gline-tables-only -fno-omit-frame-pointer \
		   $(filter-out -Werror,$(WARNINGS)) -MMD -MP $(FUZZ_SAN) \
		   -fsanitize=fuzzer-no-link $(PKG_CFLAGS)

fuzz_obj = $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(1))

FUZZ_HARNESS	:= $(patsubst %,tests/fuzz/fuzz_%.c,$(FUZZ_NAMES))
FUZZ_FIXTURE	:= $(call fuzz_obj,tests/fuzz/fixture.c)
FUZZ_LIBPROTO	:= $(FUZZ_DIR)/libproto.a
FUZZ_LIBMATCHER	:= $(FUZZ_DIR)/libmatcher.a
FUZZ_LIBPEERD	:= $(FUZZ_DIR)/libpeerd.a
FUZZ_LIBS	:= $(FUZZ_LIBPEERD) $(FUZZ_LIBMATCHER) $(FUZZ_LIBPROTO)
FUZZ_BINS	:= $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))
FUZZ_GEN	:= $(FUZZ_DIR)/gen_seeds
FUZZ_ALL_OBJS	:= $(call fuzz_obj,$(PROTO_SRCS) $(MATCHER_SRCS) \
		   $(DAEMON_SRCS) $(FUZZ_HARNESS) tests/fuzz/fixture.c \
		   tests/fuzz/gen_seeds.c) $(FUZZ_OBJ)/gen/peer.pb-c.o

$(FUZZ_OBJ)/proto/%.o:	 FUZZ_INCS := $(INC_PROTO)
$(FUZZ_OBJ)/gen/%.o:	 FUZZ_INCS := $(INC_PROTO)
$(FUZZ_OBJ)/matcher/%.o: FUZZ_INCS := -Imatcher
$(FUZZ_OBJ)/daemon/%.o:	 FUZZ_INCS := -Idaemon -Imatcher $(INC_PROTO)
$(FUZZ_OBJ)/tests/%.o:	 FUZZ_INCS := -Itests/fuzz -Idaemon -Imatcher \
			    $(INC_PROTO)
$(FUZZ_OBJ)/tests/%.o:	 FUZZ_WERROR := -Werror

.PHONY: fuzz fuzz-short fuzz-build fuzz-seeds

# clang and its libFuzzer runtime, checked once per build dir.
$(BUILD)/.fuzz-deps: deploy/deps.sh
	@mkdir -p $(@D)
	@deploy/deps.sh fuzz
	@touch $@

# Rebuild the fuzz objects when the compiler or flags change.
$(FUZZ_DIR)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' | cmp -s - $@ || \
	    echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' > $@

$(FUZZ_OBJ)/%.o: %.c $(FUZZ_DIR)/.flags | $(GEN_HDRS) $(BUILD)/.fuzz-deps
	@mkdir -p $(@D)
	$(call say,FUZZCC,$<)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_WERROR) \
	    $(FUZZ_INCS) -c -o $@ $<

$(FUZZ_OBJ)/gen/peer.pb-c.o: $(GEN_DIR)/peer.pb-c.c $(FUZZ_DIR)/.flags | \
    $(BUILD)/.fuzz-deps
	@mkdir -p $(@D)
	$(call say,FUZZCC,$<)$(FUZZ_CC) $(FUZZ_CFLAGS) \
	    -Wno-missing-prototypes $(FUZZ_INCS) -c -o $@ $<

$(FUZZ_LIBPROTO): $(call fuzz_obj,$(PROTO_SRCS)) $(FUZZ_OBJ)/gen/peer.pb-c.o
$(FUZZ_LIBMATCHER): $(call fuzz_obj,$(MATCHER_SRCS))
$(FUZZ_LIBPEERD): $(call fuzz_obj,$(DAEMON_SRCS))

# fuzz_dispatch cuts TLS out and fixes time and randomness at link time
# (see the top of fuzz_dispatch.c).
$(FUZZ_DIR)/fuzz_dispatch: FUZZ_LDEXTRA := -Wl,--wrap=tls_new_ssl \
	-Wl,--wrap=bufferevent_openssl_socket_new -Wl,--wrap=RAND_bytes \
	-Wl,--wrap=cred_verify -Wl,--wrap=stats_wait

$(FUZZ_BINS): $(FUZZ_DIR)/fuzz_%: $(FUZZ_OBJ)/tests/fuzz/fuzz_%.o \
    $(FUZZ_FIXTURE) $(FUZZ_LIBS)
	$(call say,LD,$@)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ \
	    $(FUZZ_LDEXTRA) $(PKG_LIBS) -ldl

# The seed generator: the real encoders, no libFuzzer main.
$(FUZZ_GEN): $(FUZZ_OBJ)/tests/fuzz/gen_seeds.o $(FUZZ_FIXTURE) $(FUZZ_LIBS)
	$(call say,LD,$@)$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(PKG_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz-seeds: $(FUZZ_GEN)
	$(FUZZ_GEN) tests/fuzz/corpus

fuzz: $(FUZZ_BINS)
	@fail=0; for n in $(FUZZ_NAMES); do \
	    FUZZ_FLAGS='$(FUZZ_FLAGS)' tests/fuzz/run.sh $(FUZZ_DIR) $$n \
	    $(FUZZ_SECONDS) || fail=1; done; exit $$fail

fuzz-short: $(FUZZ_BINS)
	@fail=0; for n in $(FUZZ_NAMES); do \
	    FUZZ_FLAGS='$(FUZZ_FLAGS)' tests/fuzz/run.sh $(FUZZ_DIR) $$n \
	    $(FUZZ_SHORT_SECONDS) || fail=1; done; exit $$fail

test: fuzz-short

-include $(FUZZ_ALL_OBJS:.o=.d)
