/*
 * people.h -- requesters, supporters and operators for integration tests.
 *
 * A struct world is a harness (real redis-server, real peerd) whose peerd
 * knows an organisation signing key and a requester secret made in the
 * harness temp dir, plus a small tag catalogue.  On top of it:
 *
 *   - credentials signed in-process (good, expired, not yet valid, forged
 *     with another key, operator);
 *   - clients that say Hello as a requester (optionally with a 32-byte
 *     requester key) or as a supporter (credential in Hello), with resume
 *     entries when asked;
 *   - one call per request, each waiting for the reply with its id, so a
 *     refused request shows as its Error code, not as a timeout;
 *   - bounded waits for pushed frames that print what did arrive instead;
 *   - Redis read directly (presence records, TTLs) and revocation.
 *
 * Helpers never call cmocka: they return NULL/-1 (after printing why on
 * stderr) and the test asserts, so a failure points at the test's line.
 *
 *	static int setup(void **state) { return (world_setup(state, NULL)); }
 *
 *	static void test_x(void **state)
 *	{
 *		struct world	*w = *state;
 *		struct pcred	 cred;
 *		struct pconv	 cv;
 *		struct tclient	*r, *s;
 *
 *		assert_int_equal(world_cred(w, &cred, "sup-1", "qx-lgbtq", 1,
 *		    0), 0);
 *		assert_non_null(s = people_supporter_available(w, &cred));
 *		assert_non_null(r = people_requester(w, NULL));
 *		assert_int_equal(people_match(r, s, "qx-lgbtq", NULL, &cv), 0);
 *		...
 *	}
 *	... cmocka_unit_test_setup_teardown(test_x, setup, world_teardown)
 */
#ifndef PEOPLE_H
#define PEOPLE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "credential.h"
#include "harness.h"

/* Timings the base config sets; tests that override them say so. */
#define PEOPLE_GRACE_S		3	/* grace */
#define PEOPLE_OFFER_S		5	/* offer_timeout (its minimum) */
#define PEOPLE_PRESENCE_TTL_S	5	/* presence_ttl (its minimum) */

#define PEOPLE_PUSH_MS		(5000 * harness_slow()) /* ms, a pushed
						   frame due "soon" */
#define PEOPLE_QUIET_MS		1000	/* ms, listening for what must not come */
#define PEOPLE_TOKEN_MAX	64	/* bytes of a resume token kept */

/* The tag catalogue every world has (names picked to be easy to grep). */
#define PEOPLE_TAG_LGBTQ	"qx-lgbtq"
#define PEOPLE_TAG_BME		"qx-bme"
#define PEOPLE_TAG_PRISON	"qx-prison"
#define PEOPLE_TAG_PSYCHOSIS	"qx-psychosis"
#define PEOPLE_TAG_WARD		"qx-ward"

struct world {
	struct harness	*h;
	EVP_PKEY	*org;		/* the organisation's signing key */
	EVP_PKEY	*forger;	/* an unrelated Ed25519 key */
	char		 pub[HARNESS_PATH];	/* dir/signing.pub */
	char		 secret[HARNESS_PATH];	/* dir/requester.secret */
	char		*extra;		/* extra config lines, as given */
};

/* ---- the world ---------------------------------------------------------- */

/*
 * Return the config lines a world gives peerd (signing_pubkey,
 * requester_secret_file, grace, offer_timeout, presence_ttl, the tag
 * catalogue) followed by extra (may be NULL; later lines win).  Static
 * buffer.
 */
const char	*world_conf(struct world *w, const char *extra);

/*
 * cmocka setup: a harness with Redis, a signing key pair and a requester
 * secret in its temp dir, then peerd with world_conf(extra).  *state is the
 * struct world.  Returns 0 or -1.
 */
int		 world_setup_extra(void **state, const char *extra);

/* world_setup_extra(state, NULL). */
int		 world_setup(void **state);

/*
 * cmocka teardown: stop everything, check the run (harness_check()), free
 * the world.  Returns 0, or -1 when the check found something.
 */
int		 world_teardown(void **state);

/* Stop peerd and start it again with the same config.  Returns 0 or -1. */
int		 world_restart_peerd(struct world *w);

/* ---- credentials -------------------------------------------------------- */

#define PCRED_EXPIRED	0x01	/* not_after an hour ago */
#define PCRED_FORGED	0x02	/* signed by another key */
#define PCRED_OPERATOR	0x04	/* role OPERATOR (default SUPPORTER) */
#define PCRED_FUTURE	0x08	/* issued_at a day ahead */
#define PCRED_SHORT	0x10	/* not_after PCRED_SHORT_S seconds from now */
#define PCRED_SHORT_S	3

struct pcred {
	char		 id[CRED_ID_MAX + 1];
	char		 name[CRED_NAME_MAX + 1];
	uint32_t	 capacity;
	uint8_t		 buf[CRED_MAX];	/* serialized Credential */
	size_t		 len;
};

/*
 * Sign a credential for id with display name "Peer <id>", tags (a
 * comma-separated list, NULL or "" for none), language "en" and capacity,
 * valid from a minute ago for a day unless flags say otherwise.  Returns 0,
 * or -1 after printing why.
 */
int		 world_cred(struct world *w, struct pcred *out, const char *id,
		     const char *tags, uint32_t capacity, int flags);

/* As world_cred with a display name and languages ("en,fr"). */
int		 world_cred_full(struct world *w, struct pcred *out,
		     const char *id, const char *name, const char *tags,
		     const char *langs, uint32_t capacity, int flags);

/* ---- connecting --------------------------------------------------------- */

/* One conversation to resume in a Hello. */
struct presume {
	const uint8_t	*token;
	size_t		 len;
	uint64_t	 last_seq;
};

/*
 * Send Hello{role, credential (may be NULL), requester_key (32 bytes, may
 * be NULL), resume entries} on a connected client and wait for the reply.
 * Returns the Welcome or the Error (frame_free()), or NULL on timeout.
 */
Envelope	*people_hello(struct tclient *c, Peerd__V1__Role role,
		     const struct pcred *cred, const uint8_t *key,
		     const struct presume *res, size_t nres);

/*
 * Connect and say Hello; return the client once a Welcome came (which is
 * freed), else NULL after printing what came instead.
 */
struct tclient	*people_requester(struct world *w, const uint8_t *key);
struct tclient	*people_supporter(struct world *w, const struct pcred *cred);
struct tclient	*people_operator(struct world *w, const struct pcred *cred);

/* people_supporter(), then SetAvailability{AVAILABLE, 0} answered Ok. */
struct tclient	*people_supporter_available(struct world *w,
		     const struct pcred *cred);

/* ---- requests: each returns 0 for Ok, the ErrorCode (> 0), -1 timeout -- */

/*
 * Send env with a fresh request id (env->id is overwritten) and wait for
 * the envelope answering it.  Returns it (frame_free()) or NULL.
 */
Envelope	*people_call(struct tclient *c, Envelope *env, int timeout_ms);

/* Return 0 if env is not an Error, else its code; -1 for NULL. */
int		 people_code(const Envelope *env);

/* Return the name of a people_*() result: "OK", "BAD_STATE", ... */
const char	*people_code_name(int code);

#define PREQ_URGENT	0x1
#define PREQ_PREVIOUS	0x2	/* prefer_previous */

/*
 * RequestPeer{need, prefer (comma-separated lists, NULL for none),
 * languages, flags}.  Returns the reply: a QueueUpdate or an Error.
 */
Envelope	*people_request(struct tclient *c, const char *need,
		     const char *prefer, const char *langs, int flags);

/* people_request() with RequestPeer.relax_after_s set. */
Envelope	*people_request_relax(struct tclient *c, const char *need,
		     const char *prefer, const char *langs, int flags,
		     uint32_t relax_after_s);

int		 people_cancel(struct tclient *c);
int		 people_avail(struct tclient *c,
		     Peerd__V1__SupporterStatus status, uint32_t capacity);
int		 people_accept(struct tclient *c, uint64_t offer_id);
int		 people_decline(struct tclient *c, uint64_t offer_id);
int		 people_end(struct tclient *c, uint64_t conv);
int		 people_report(struct tclient *c, uint64_t conv,
		     const char *reason);

/*
 * ChatMessage{conv, client_msg_id, text}.  Returns 0 with *seq (may be
 * NULL) set from MessageAccepted, an ErrorCode, or -1.
 */
int		 people_chat(struct tclient *c, uint64_t conv, uint64_t cmid,
		     const char *text, uint64_t *seq);

/*
 * Queue ChatMessage{conv, cmid, text} without waiting for the reply (for
 * pipelining; the reply is read later with tclient_recv_id).  Returns the
 * envelope id used, 0 on error.
 */
uint64_t	 people_chat_send(struct tclient *c, uint64_t conv,
		     uint64_t cmid, const char *text);

/* Notifications (no reply): return 0 once written, -1 on error. */
int		 people_delivered(struct tclient *c, uint64_t conv,
		     uint64_t seq);
int		 people_typing(struct tclient *c, uint64_t conv, int typing);

/* ---- waiting for pushed frames ------------------------------------------ */

/*
 * Wait up to timeout_ms for an envelope of kind body (other kinds stay
 * queued).  On timeout print who (a label), what was expected and what is
 * queued.  Returns the envelope (frame_free()) or NULL.
 */
Envelope	*people_wait(struct tclient *c, const char *who, int body,
		     int timeout_ms);

/*
 * Wait for the next ChatMessage in conversation conv (ChatMessages of
 * other conversations stay queued).  Returns it or NULL.
 */
Envelope	*people_wait_chat(struct tclient *c, uint64_t conv,
		     int timeout_ms);

/* Print every queued envelope of c under a label (for failing tests). */
void		 people_dump(struct tclient *c, const char *who);

/* Describe env in one line into buf ("Error{BAD_STATE fatal=0 \"...\"}"). */
const char	*people_describe(const Envelope *env, char *buf, size_t len);

/* ---- a whole match ------------------------------------------------------ */

struct pconv {
	uint64_t	 id;			/* conversation_id */
	uint64_t	 offer_id;
	uint8_t		 rtoken[PEOPLE_TOKEN_MAX]; /* requester's resume token */
	size_t		 rtoken_len;
	uint8_t		 stoken[PEOPLE_TOKEN_MAX]; /* supporter's resume token */
	size_t		 stoken_len;
	char		 rpeer[128];		/* Matched.peer_name, requester */
	char		 speer[128];		/* Matched.peer_name, supporter */
};

/*
 * The requester r asks (need, prefer as people_request), the supporter s
 * (already AVAILABLE) gets the Offer and accepts, both get Matched for the
 * same conversation.  Fills *out.  Returns 0, or -1 after printing the step
 * that failed.
 */
int		 people_match(struct tclient *r, struct tclient *s,
		     const char *need, const char *prefer, struct pconv *out);

/* Copy a Matched into out's fields for side r (requester) or s. */
void		 people_note_matched(struct pconv *out, const Envelope *m,
		     int requester);

/* ---- Redis -------------------------------------------------------------- */

/*
 * Read the hash peerd:presence:<id> into buf as "field=value ..." (fields
 * sorted).  Returns the number of fields (0: no such key), or -1 if Redis
 * did not answer.
 */
int		 redis_presence(struct harness *h, const char *id, char *buf,
		     size_t len);

/* Return the value of one field of peerd:presence:<id> in buf, or NULL. */
const char	*redis_presence_field(struct harness *h, const char *id,
		     const char *field, char *buf, size_t len);

/* Return TTL key in seconds (-2 none, -1 no expiry), or -3 on failure. */
long long	 redis_ttl(struct harness *h, const char *key);

/* Return SISMEMBER key member (0/1), or -1 on failure. */
int		 redis_sismember(struct harness *h, const char *key,
		     const char *member);

/*
 * Write every key and every value in Redis (strings, hashes, sets) into
 * buf, one per line.  Returns 0 or -1.
 */
int		 redis_dump_all(struct harness *h, char *buf, size_t len);

/*
 * Wait up to timeout_ms until peerd:presence:<id> has field == value
 * (value NULL: until the key exists at all).  Returns 0 or -1.
 */
int		 redis_presence_wait(struct harness *h, const char *id,
		     const char *field, const char *value, int timeout_ms);

/* Wait up to timeout_ms until peerd:presence:<id> is gone.  0 or -1. */
int		 redis_presence_gone(struct harness *h, const char *id,
		     int timeout_ms);

/*
 * Revoke id as an operator would: `$PEERCTL_BIN revoke ID --redis ...`
 * when PEERCTL_BIN is set, else SADD peerd:revoked + PUBLISH
 * peerd:revocations.  Returns 0 or -1.
 */
int		 people_revoke(struct world *w, const char *id);

/* Add id to peerd:revoked without publishing.  Returns 0 or -1. */
int		 redis_revoked_add(struct harness *h, const char *id);

/* ---- the log ------------------------------------------------------------ */

/*
 * Return how many lines of peerd's log contain both a and b (b may be
 * NULL: lines containing a).  If first is not NULL, copy the first such
 * line there.
 */
int		 log_lines_with(struct harness *h, const char *a, const char *b,
		     char *first, size_t len);

#endif
