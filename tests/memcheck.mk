# memcheck.mk -- `make memcheck`: the integration tests with peerd under
# valgrind's memcheck (included by the top-level Makefile).
#
#   make memcheck [BUILD=build/hm] [MEMCHECK_TESTS="build/hm/tests/..."]
#
# The harness starts peerd as $(MEMCHECK_WRAPPER) peerd -c CONF (it reads
# PEERD_WRAPPER), one valgrind log per peerd in the test's temp dir, and at
# teardown fails the test if a log shows an error or a definite or indirect
# leak (or peerd exits 99, valgrind's error exit).  peerd is 20-50 times
# slower under valgrind: HARNESS_SLOW scales the harness's waits, and the
# few tests whose timing it cannot keep skip themselves, saying why.
# Only peerd runs under valgrind; the test programs, peer and peerctl do not
# (make SANITIZER=address test covers those).

MEMCHECK_SLOW	 ?= 10		# factor on the harness's waits
MEMCHECK_TIMEOUT ?= 1500	# seconds for one test binary
MEMCHECK_TESTS	 ?= $(INTEG_BINS)
MEMCHECK_WRAPPER := valgrind --tool=memcheck --leak-check=full \
	--show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	--track-fds=no --num-callers=30 \
	--log-file=%q{PEERD_TEST_DIR}/valgrind.%p.log

.PHONY: memcheck

# valgrind (and what make test needs), checked once per build dir.
$(BUILD)/.memcheck-deps: deploy/deps.sh
	@mkdir -p $(@D)
	@deploy/deps.sh memcheck
	@touch $@

memcheck: all $(INTEG_BINS) $(BUILD)/.memcheck-deps
	@$(TEST_ENV) PEERD_WRAPPER='$(strip $(MEMCHECK_WRAPPER))' \
	    HARNESS_SLOW=$(strip $(MEMCHECK_SLOW)) \
	    TEST_TIMEOUT=$(strip $(MEMCHECK_TIMEOUT)) \
	    tests/run.sh $(MEMCHECK_TESTS)
