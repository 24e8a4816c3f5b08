/*
 * gen_seeds.c -- write the fuzz seed corpora with the real encoders.
 *
 *   gen_seeds DIR      (make fuzz-seeds: DIR is tests/fuzz/corpus)
 *
 * Writes DIR/NAME/gen-* for each harness: frames packed by frame_encode,
 * credentials signed by cred_sign with the fixture key (fixture.h) and
 * armored by cred_armor, config text from the option table, and
 * fuzz_dispatch operation streams around packed envelopes.  The output is
 * the same every run (fixed times; Ed25519 signatures are deterministic),
 * and it is committed: the harnesses never run this.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credential.h"
#include "peerd.h"
#include "fixture.h"

#define GEN_MAX		16384	/* bytes, one seed */

/* One seed being built. */
struct gen {
	uint8_t		buf[GEN_MAX];
	size_t		len;
};

static const char	*gen_dir;

/* Stop with a message. */
static void
gen_fail(const char *what)
{
	fprintf(stderr, "gen_seeds: %s\n", what);
	exit(1);
}

/* Start a seed. */
static void
gen_start(struct gen *g)
{
	g->len = 0;
}

/* Append len bytes. */
static void
gen_add(struct gen *g, const void *p, size_t len)
{
	if (len > sizeof g->buf - g->len)
		gen_fail("seed too large");
	memcpy(g->buf + g->len, p, len);
	g->len += len;
}

/* Append one byte. */
static void
gen_byte(struct gen *g, uint8_t b)
{
	gen_add(g, &b, 1);
}

/* Append a string without its NUL. */
static void
gen_str(struct gen *g, const char *s)
{
	gen_add(g, s, strlen(s));
}

/* Write the seed to DIR/harness/gen-name. */
static void
gen_write(const struct gen *g, const char *harness, const char *name)
{
	char	 path[PATH_MAX];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", gen_dir, harness);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		gen_fail(path);
	snprintf(path, sizeof path, "%s/%s/gen-%s", gen_dir, harness, name);
	if ((f = fopen(path, "w")) == NULL)
		gen_fail(path);
	if (g->len != 0 && fwrite(g->buf, 1, g->len, f) != g->len)
		gen_fail(path);
	if (fclose(f) != 0)
		gen_fail(path);
}

/* ---- envelopes ---- */

/* Append env as a frame (header and body). */
static void
gen_frame(struct gen *g, const Envelope *env)
{
	uint8_t	buf[GEN_MAX];
	size_t	n;

	if ((n = frame_encode(env, FRAME_MAX_HARD, buf, sizeof buf)) == 0)
		gen_fail("frame_encode");
	gen_add(g, buf, n);
}

/* Append env's body alone (fuzz_dispatch's FRAME). */
static size_t
gen_body(uint8_t *buf, size_t len, const Envelope *env)
{
	size_t	n = peerd__v1__envelope__get_packed_size(env);

	if (n > len)
		gen_fail("body too large");
	return (peerd__v1__envelope__pack(env, buf));
}

/* A credential with fixed times, signed with the fixture key. */
static size_t
gen_cred(uint8_t *out, const char *id, Role role, const char *tag,
    uint32_t capacity, uint64_t issued, uint64_t days)
{
	struct cred_info	 ci;
	const char		*why = NULL;
	size_t			 n;

	memset(&ci, 0, sizeof ci);
	snprintf(ci.id, sizeof ci.id, "%s", id);
	snprintf(ci.name, sizeof ci.name, "Name of %s", id);
	ci.role = role;
	if (tag != NULL) {
		snprintf(ci.tags[0], sizeof ci.tags[0], "%s", tag);
		snprintf(ci.tags[1], sizeof ci.tags[1], "bme");
		ci.ntags = 2;
	}
	snprintf(ci.languages[0], sizeof ci.languages[0], "en");
	snprintf(ci.languages[1], sizeof ci.languages[1], "fr");
	ci.nlanguages = 2;
	ci.capacity = capacity;
	ci.issued_at = issued;
	ci.not_after = issued + days * FIXTURE_DAY;
	if (cred_sign(&ci, fixture_key(), out, CRED_MAX, &n, &why) != CRED_OK)
		gen_fail(why != NULL ? why : "cred_sign");
	return (n);
}

/* Envelope builders: each fills env (and the body it points to). */
static char	*gen_need[] = { (char *)"lgbtq" };
static char	*gen_prefer[] = { (char *)"bme" };
static char	*gen_langs[] = { (char *)"en", (char *)"fr" };

static Peerd__V1__Hello			 gen_h;
static Peerd__V1__Ping			 gen_ping;
static Peerd__V1__RequestPeer		 gen_rp;
static Peerd__V1__CancelRequest		 gen_cancel;
static Peerd__V1__SetAvailability	 gen_sa;
static Peerd__V1__AcceptOffer		 gen_accept;
static Peerd__V1__DeclineOffer		 gen_decline;
static Peerd__V1__ChatMessage		 gen_chat;
static Peerd__V1__Delivered		 gen_deliv;
static Peerd__V1__Typing		 gen_typing;
static Peerd__V1__EndConversation	 gen_end;
static Peerd__V1__Report		 gen_report;
static Peerd__V1__StatsRequest		 gen_stats;
static uint8_t				 gen_credbuf[CRED_MAX];
static uint8_t				 gen_key[32];

/* Hello for role; cred: NULL, or bytes of credlen (one byte: a slot). */
static void
env_hello(Envelope *env, Role role, const uint8_t *cred, size_t credlen,
    int with_key)
{
	peerd__v1__envelope__init(env);
	peerd__v1__hello__init(&gen_h);
	gen_h.protocol_version = PEERD_PROTOCOL;
	gen_h.role = role;
	gen_h.client_name = (char *)"peer/0.1";
	if (cred != NULL) {
		memcpy(gen_credbuf, cred, credlen);
		gen_h.credential.data = gen_credbuf;
		gen_h.credential.len = credlen;
	}
	if (with_key) {
		memset(gen_key, 'k', sizeof gen_key);
		gen_h.requester_key.data = gen_key;
		gen_h.requester_key.len = sizeof gen_key;
	}
	env->id = 1;
	env->body_case = BODY(HELLO);
	env->hello = &gen_h;
}

/* Ping. */
static void
env_ping(Envelope *env, uint64_t nonce)
{
	peerd__v1__envelope__init(env);
	peerd__v1__ping__init(&gen_ping);
	gen_ping.nonce = nonce;
	env->id = 2;
	env->body_case = BODY(PING);
	env->ping = &gen_ping;
}

/* RequestPeer, needing lgbtq if need. */
static void
env_request(Envelope *env, int need)
{
	peerd__v1__envelope__init(env);
	peerd__v1__request_peer__init(&gen_rp);
	if (need) {
		gen_rp.n_need = 1;
		gen_rp.need = gen_need;
	}
	gen_rp.n_prefer = 1;
	gen_rp.prefer = gen_prefer;
	gen_rp.n_languages = 2;
	gen_rp.languages = gen_langs;
	gen_rp.relax_after_s = 60;
	gen_rp.prefer_previous = 1;
	env->id = 3;
	env->body_case = BODY(REQUEST_PEER);
	env->request_peer = &gen_rp;
}

/* CancelRequest. */
static void
env_cancel(Envelope *env)
{
	peerd__v1__envelope__init(env);
	peerd__v1__cancel_request__init(&gen_cancel);
	env->id = 4;
	env->body_case = BODY(CANCEL_REQUEST);
	env->cancel_request = &gen_cancel;
}

/* SetAvailability. */
static void
env_avail(Envelope *env, Peerd__V1__SupporterStatus st, uint32_t cap)
{
	peerd__v1__envelope__init(env);
	peerd__v1__set_availability__init(&gen_sa);
	gen_sa.status = st;
	gen_sa.capacity = cap;
	env->id = 5;
	env->body_case = BODY(SET_AVAILABILITY);
	env->set_availability = &gen_sa;
}

/* AcceptOffer. */
static void
env_accept(Envelope *env, uint64_t offer)
{
	peerd__v1__envelope__init(env);
	peerd__v1__accept_offer__init(&gen_accept);
	gen_accept.offer_id = offer;
	env->id = 6;
	env->body_case = BODY(ACCEPT_OFFER);
	env->accept_offer = &gen_accept;
}

/* DeclineOffer. */
static void
env_decline(Envelope *env, uint64_t offer)
{
	peerd__v1__envelope__init(env);
	peerd__v1__decline_offer__init(&gen_decline);
	gen_decline.offer_id = offer;
	env->id = 7;
	env->body_case = BODY(DECLINE_OFFER);
	env->decline_offer = &gen_decline;
}

/* ChatMessage. */
static void
env_chat(Envelope *env, uint64_t conv, uint64_t cmid, const char *text)
{
	peerd__v1__envelope__init(env);
	peerd__v1__chat_message__init(&gen_chat);
	gen_chat.conversation_id = conv;
	gen_chat.client_msg_id = cmid;
	gen_chat.text = (char *)text;
	env->id = 8 + cmid;
	env->body_case = BODY(CHAT_MESSAGE);
	env->chat_message = &gen_chat;
}

/* Delivered. */
static void
env_delivered(Envelope *env, uint64_t conv, uint64_t seq)
{
	peerd__v1__envelope__init(env);
	peerd__v1__delivered__init(&gen_deliv);
	gen_deliv.conversation_id = conv;
	gen_deliv.seq = seq;
	env->body_case = BODY(DELIVERED);
	env->delivered = &gen_deliv;
}

/* Typing. */
static void
env_typing(Envelope *env, uint64_t conv)
{
	peerd__v1__envelope__init(env);
	peerd__v1__typing__init(&gen_typing);
	gen_typing.conversation_id = conv;
	gen_typing.typing = 1;
	env->body_case = BODY(TYPING);
	env->typing = &gen_typing;
}

/* EndConversation. */
static void
env_end(Envelope *env, uint64_t conv, int requeue)
{
	peerd__v1__envelope__init(env);
	peerd__v1__end_conversation__init(&gen_end);
	gen_end.conversation_id = conv;
	gen_end.requeue = requeue;
	env->id = 30;
	env->body_case = BODY(END_CONVERSATION);
	env->end_conversation = &gen_end;
}

/* Report. */
static void
env_report(Envelope *env, uint64_t conv)
{
	peerd__v1__envelope__init(env);
	peerd__v1__report__init(&gen_report);
	gen_report.conversation_id = conv;
	gen_report.reason = (char *)"abusive";
	env->id = 31;
	env->body_case = BODY(REPORT);
	env->report = &gen_report;
}

/* StatsRequest. */
static void
env_stats(Envelope *env)
{
	peerd__v1__envelope__init(env);
	peerd__v1__stats_request__init(&gen_stats);
	env->id = 32;
	env->body_case = BODY(STATS_REQUEST);
	env->stats_request = &gen_stats;
}

/* ---- fuzz_frame ---- */

/* Frame mode byte: pre-Hello limit index, post-Hello limit index. */
#define FRAME_MODE(pre, post)	((uint8_t)((pre) | (post) << 3))

/* Write the fuzz_frame seeds. */
static void
gen_frame_seeds(void)
{
	struct gen	g;
	Envelope	env;
	uint8_t		cred[CRED_MAX], hdr[4];
	size_t		n;

	n = gen_cred(cred, "sup-a", ROLE_SUPPORTER, "lgbtq", 2, FIXTURE_NOW,
	    365);

	gen_start(&g);
	gen_byte(&g, FRAME_MODE(1, 3));
	env_hello(&env, ROLE_REQUESTER, NULL, 0, 1);
	gen_frame(&g, &env);
	env_ping(&env, 42);
	gen_frame(&g, &env);
	env_request(&env, 1);
	gen_frame(&g, &env);
	env_cancel(&env);
	gen_frame(&g, &env);
	gen_write(&g, "frame", "requester");

	gen_start(&g);
	gen_byte(&g, FRAME_MODE(0, 2));
	env_hello(&env, ROLE_SUPPORTER, cred, n, 0);
	gen_frame(&g, &env);
	env_avail(&env, PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 2);
	gen_frame(&g, &env);
	env_accept(&env, 0x1122334455667788ULL);
	gen_frame(&g, &env);
	env_decline(&env, 7);
	gen_frame(&g, &env);
	gen_write(&g, "frame", "supporter");

	gen_start(&g);
	gen_byte(&g, (uint8_t)(0x80 | FRAME_MODE(1, 3)));	/* bytewise */
	env_chat(&env, 99, 1, "hello there");
	gen_frame(&g, &env);
	env_delivered(&env, 99, 1);
	gen_frame(&g, &env);
	env_typing(&env, 99);
	gen_frame(&g, &env);
	env_report(&env, 99);
	gen_frame(&g, &env);
	env_end(&env, 99, 1);
	gen_frame(&g, &env);
	env_stats(&env);
	gen_frame(&g, &env);
	gen_write(&g, "frame", "conversation");

	/* A frame cut short, then nothing. */
	gen_start(&g);
	gen_byte(&g, FRAME_MODE(1, 3));
	env_chat(&env, 5, 2, "truncated");
	gen_frame(&g, &env);
	g.len -= 3;
	gen_write(&g, "frame", "truncated");

	/* Length 0, then over every limit. */
	gen_start(&g);
	gen_byte(&g, FRAME_MODE(1, 3));
	env_ping(&env, 1);
	gen_frame(&g, &env);
	memset(hdr, 0, sizeof hdr);
	gen_add(&g, hdr, sizeof hdr);
	gen_write(&g, "frame", "empty");

	gen_start(&g);
	gen_byte(&g, FRAME_MODE(1, 3));
	memset(hdr, 0xff, sizeof hdr);
	gen_add(&g, hdr, sizeof hdr);
	gen_write(&g, "frame", "too-large");

	/* A body that is not an Envelope (a wire type 7 tag). */
	gen_start(&g);
	gen_byte(&g, FRAME_MODE(6, 6));
	hdr[0] = hdr[1] = hdr[2] = 0;
	hdr[3] = 3;
	gen_add(&g, hdr, sizeof hdr);
	gen_add(&g, "\x0f\x01\x02", 3);
	gen_write(&g, "frame", "bad-body");
}

/* ---- fuzz_credential ---- */

/* Write the fuzz_credential seeds. */
static void
gen_credential_seeds(void)
{
	Peerd__V1__Credential	*c;
	struct gen		 g;
	uint8_t			 cred[CRED_MAX];
	char			 text[CRED_FILE_MAX];
	size_t			 n, t;

	n = gen_cred(cred, "sup-a", ROLE_SUPPORTER, "lgbtq", 2,
	    FIXTURE_NOW - 30 * FIXTURE_DAY, 365);
	t = cred_armor(cred, n, text, sizeof text);

	gen_start(&g);
	gen_byte(&g, 0);
	gen_add(&g, text, t);
	gen_write(&g, "credential", "armored");

	gen_start(&g);
	gen_byte(&g, 0);
	gen_str(&g, "From: vetting@example.org\r\nSubject: credential\r\n\r\n");
	gen_add(&g, text, t);
	gen_str(&g, "\r\n-- \r\nthe vetting team\r\n");
	gen_write(&g, "credential", "armored-mail");

	gen_start(&g);
	gen_byte(&g, 3);
	gen_add(&g, text, t);
	gen_write(&g, "credential", "file");

	gen_start(&g);
	gen_byte(&g, 1);
	gen_add(&g, cred, n);
	gen_write(&g, "credential", "raw");

	/* The same at a clock after its not_after. */
	gen_start(&g);
	gen_byte(&g, 1 | 3 << 2);
	gen_add(&g, cred, n);
	gen_write(&g, "credential", "raw-expired");

	/* A flipped signature bit. */
	gen_start(&g);
	gen_byte(&g, 1);
	gen_add(&g, cred, n);
	g.buf[g.len - 1] ^= 0x01;
	gen_write(&g, "credential", "raw-bad-signature");

	n = gen_cred(cred, "op-a", ROLE_OPERATOR, NULL, 0, FIXTURE_NOW, 30);
	gen_start(&g);
	gen_byte(&g, 1);
	gen_add(&g, cred, n);
	gen_write(&g, "credential", "raw-operator");

	/* Not yet valid at FIXTURE_NOW. */
	n = gen_cred(cred, "sup-b", ROLE_SUPPORTER, "faith", 16,
	    FIXTURE_NOW + 10 * FIXTURE_DAY, 1096);
	gen_start(&g);
	gen_byte(&g, 1);
	gen_add(&g, cred, n);
	gen_write(&g, "credential", "raw-not-yet-valid");

	/* Its payload alone, for the harness to sign. */
	if ((c = peerd__v1__credential__unpack(NULL, n, cred)) == NULL)
		gen_fail("credential does not unpack");
	gen_start(&g);
	gen_byte(&g, 2);
	gen_add(&g, c->payload.data, c->payload.len);
	gen_write(&g, "credential", "payload");
	peerd__v1__credential__free_unpacked(c, NULL);
}

/* ---- fuzz_config ---- */

/* Write the fuzz_config seeds. */
static void
gen_config_seeds(void)
{
	const struct config_option	*o;
	struct gen			 g;
	size_t				 i, n;

	/* Every option at its default, as the table gives it. */
	o = config_table(&n);
	gen_start(&g);
	gen_str(&g, "# every option at its default\n");
	for (i = 0; i < n; i++) {
		if (o[i].def == NULL)
			continue;
		gen_str(&g, o[i].name);
		gen_str(&g, " ");
		gen_str(&g, o[i].def);
		gen_str(&g, "\n");
	}
	gen_str(&g, "node_id peerd-1.example\nsigning_pubkey keys/org.pub\n"
	    "requester_secret_file /etc/peerd/requester.secret\n"
	    "user peerd\n");
	gen_write(&g, "config", "defaults");

	gen_start(&g);
	gen_str(&g, "listen [::1]:7474\nadmin_listen 0.0.0.0:7475\n"
	    "redis redis.internal:6379\nlog_level debug\n"
	    "max_frame 1024\nmax_frame_hello 512\nmax_text 4096\n"
	    "idle_timeout 10\nkeepalive 9\ngrace 0\n"
	    "tag lgbtq LGBTQ+ peers\n"
	    "tag bme   Black and minority ethnic peers \r\n"
	    "\ttag faith Faith-based support \xc3\xa9\n"
	    "  # indented comment\n\n"
	    "tag youth Under 25\n");
	gen_write(&g, "config", "tags");

	gen_start(&g);
	gen_str(&g, "include inc.conf\ninclude sub/up.conf\n"
	    "include empty.conf\nmax_text 100\n");
	gen_write(&g, "config", "include");

	gen_start(&g);
	gen_str(&g, "include self.conf\n");
	gen_write(&g, "config", "include-loop");

	gen_start(&g);
	gen_str(&g, "tag a Alpha\ninclude nowhere.conf\n");
	gen_write(&g, "config", "include-missing");

	gen_start(&g);
	gen_str(&g, "include sub\n");
	gen_write(&g, "config", "include-dir");

	gen_start(&g);
	gen_str(&g, "include bad.conf\n");
	gen_write(&g, "config", "include-error");

	gen_start(&g);
	gen_str(&g, "tag dup One\ntag dup Two\n");
	gen_write(&g, "config", "duplicate-tag");

	gen_start(&g);
	gen_str(&g, "max_frame 1024\ntag x ");
	for (i = 0; i < 190; i++)
		gen_str(&g, "d");
	gen_str(&g, "\ntag y ");
	for (i = 0; i < 190; i++)
		gen_str(&g, "e");
	gen_str(&g, "\ntag z ");
	for (i = 0; i < 190; i++)
		gen_str(&g, "f");
	gen_str(&g, "\ntag w ");
	for (i = 0; i < 190; i++)
		gen_str(&g, "g");
	gen_str(&g, "\n");
	gen_write(&g, "config", "welcome-too-big");

	gen_start(&g);
	gen_str(&g, "max_queue 99999999999999999999\nlisten 1.2.3.4\n");
	gen_write(&g, "config", "out-of-range");
}

/* ---- fuzz_dispatch ---- */

/* Operation bytes (see fuzz_dispatch.c). */
#define OP(kind, slot)	((uint8_t)((kind) << 4 | (slot)))
#define K_OPEN		0
#define K_DATA		1
#define K_FRAME		2
#define K_TICK		3
#define K_EOF		4
#define K_CLOSE		5
#define K_REVOKE	6
#define K_SHUTDOWN	7
#define K_PAUSE		8
#define K_REPEAT	9
#define NOSETTLE	0x08

/* OPEN arguments. */
#define P_REQ		0x00
#define P_REQ_KEY	0x01
#define P_SUP		0x02
#define P_OP		0x03
#define P_READY		0x04
#define P_CRED(k)	((k) << 3)
#define P_RESUME	0x40

#define SLOT_REQ	0
#define SLOT_SUP	1
#define SLOT_OTHER	2

/* Append an operation with one argument byte. */
static void
gen_op(struct gen *g, uint8_t op, uint8_t arg)
{
	gen_byte(g, op);
	gen_byte(g, arg);
}

/* Append FRAME (or DATA with raw) carrying env's body, or env framed. */
static void
gen_op_env(struct gen *g, u_int slot, const Envelope *env, int raw)
{
	uint8_t	body[GEN_MAX], hdr[4];
	size_t	n;

	n = gen_body(body, sizeof body, env);
	if (raw) {
		gen_byte(g, OP(K_DATA, slot));
		gen_byte(g, (uint8_t)((n + 4) >> 8));
		gen_byte(g, (uint8_t)(n + 4));
		hdr[0] = hdr[1] = 0;
		hdr[2] = (uint8_t)(n >> 8);
		hdr[3] = (uint8_t)n;
		gen_add(g, hdr, sizeof hdr);
	} else {
		gen_byte(g, OP(K_FRAME, slot));
		gen_byte(g, (uint8_t)(n >> 8));
		gen_byte(g, (uint8_t)n);
	}
	gen_add(g, body, n);
}

/* A supporter available, a requester queued, the offer accepted. */
static void
gen_matched(struct gen *g, uint8_t knobs)
{
	Envelope	env;

	gen_start(g);
	gen_byte(g, knobs);
	gen_op(g, OP(K_OPEN, SLOT_SUP), P_SUP | P_READY | P_CRED(0));
	env_avail(&env, PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 2);
	gen_op_env(g, SLOT_SUP, &env, 0);
	gen_op(g, OP(K_OPEN, SLOT_REQ), P_REQ_KEY | P_READY);
	env_request(&env, 1);
	gen_op_env(g, SLOT_REQ, &env, 0);
	env_accept(&env, 1);
	gen_op_env(g, SLOT_SUP, &env, 0);
}

/* Write the fuzz_dispatch seeds. */
static void
gen_dispatch_seeds(void)
{
	struct gen	g;
	Envelope	env;
	uint8_t		cred[CRED_MAX], slot;
	char		big[2049];
	size_t		n;

	/* Hello sent by the input as raw bytes, then a few requests. */
	gen_start(&g);
	gen_byte(&g, 0);
	env_hello(&env, ROLE_REQUESTER, NULL, 0, 0);
	gen_op_env(&g, SLOT_REQ, &env, 1);
	env_ping(&env, 7);
	gen_op_env(&g, SLOT_REQ, &env, 1);
	env_request(&env, 0);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	env_cancel(&env);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	env_stats(&env);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	gen_write(&g, "dispatch", "requester-hello");

	/* A supporter's Hello from the input, a prepared credential. */
	gen_start(&g);
	gen_byte(&g, 0);
	slot = 0;
	env_hello(&env, ROLE_SUPPORTER, &slot, 1, 0);
	gen_op_env(&g, SLOT_SUP, &env, 0);
	env_avail(&env, PEERD__V1__SUPPORTER_STATUS__ON_BREAK, 1);
	gen_op_env(&g, SLOT_SUP, &env, 0);
	env_avail(&env, PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 0);
	gen_op_env(&g, SLOT_SUP, &env, 0);
	gen_write(&g, "dispatch", "supporter-hello");

	/* The same with a whole credential in the input (valid 3 years). */
	n = gen_cred(cred, "sup-a", ROLE_SUPPORTER, "lgbtq", 2,
	    FIXTURE_NOW + 300 * FIXTURE_DAY, 1096);
	gen_start(&g);
	gen_byte(&g, 0);
	env_hello(&env, ROLE_SUPPORTER, cred, n, 0);
	gen_op_env(&g, SLOT_SUP, &env, 1);
	env_avail(&env, PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 2);
	gen_op_env(&g, SLOT_SUP, &env, 0);
	gen_write(&g, "dispatch", "supporter-credential");

	/* Credentials that must be refused. */
	gen_start(&g);
	gen_byte(&g, 0);
	gen_op(&g, OP(K_OPEN, 0), P_SUP | P_READY | P_CRED(5));
	gen_op(&g, OP(K_OPEN, 1), P_SUP | P_READY | P_CRED(6));
	gen_op(&g, OP(K_OPEN, 2), P_SUP | P_READY | P_CRED(7));
	gen_op(&g, OP(K_OPEN, 0), P_SUP | P_READY | P_CRED(2));
	gen_op(&g, OP(K_OPEN, 1), P_OP | P_READY | P_CRED(0));
	gen_write(&g, "dispatch", "refused");

	/* The relay: chat both ways, Delivered, Typing, then the end. */
	gen_matched(&g, 0);
	env_chat(&env, 1, 1, "hello");
	gen_op_env(&g, SLOT_REQ, &env, 0);
	env_delivered(&env, 1, 1);
	gen_op_env(&g, SLOT_SUP, &env, 0);
	env_chat(&env, 1, 1, "hi, I'm here");
	gen_op_env(&g, SLOT_SUP, &env, 0);
	env_typing(&env, 1);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	env_delivered(&env, 1, 2);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	env_chat(&env, 1, 1, "again");
	gen_op_env(&g, SLOT_REQ, &env, 0);
	env_end(&env, 1, 0);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	gen_write(&g, "dispatch", "relay");

	/* Both sides drop and resume; a message waits for the requester. */
	gen_matched(&g, 0);
	env_chat(&env, 1, 1, "before the drop");
	gen_op_env(&g, SLOT_REQ, &env, 0);
	gen_byte(&g, OP(K_CLOSE, SLOT_REQ));
	env_chat(&env, 1, 1, "while you were away");
	gen_op_env(&g, SLOT_SUP, &env, 0);
	gen_op(&g, OP(K_TICK, 0), 50);
	gen_op(&g, OP(K_OPEN, SLOT_REQ), P_REQ_KEY | P_READY | P_RESUME);
	gen_byte(&g, OP(K_CLOSE, SLOT_SUP));
	gen_op(&g, OP(K_OPEN, SLOT_SUP), P_SUP | P_READY | P_CRED(0) |
	    P_RESUME);
	env_delivered(&env, 1, 2);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	gen_write(&g, "dispatch", "resume");

	/* A drop that outlasts grace: the requester goes back in the queue. */
	gen_matched(&g, 0);
	gen_byte(&g, OP(K_CLOSE, SLOT_SUP));
	gen_op(&g, OP(K_TICK, 0), 128 + 40);
	env_request(&env, 0);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	gen_write(&g, "dispatch", "grace");

	/* Report, then a new request that must not meet the same supporter. */
	gen_matched(&g, 0);
	env_report(&env, 1);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	env_request(&env, 1);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	gen_write(&g, "dispatch", "report");

	/* Decline, then an offer left to time out. */
	gen_start(&g);
	gen_byte(&g, 0);
	gen_op(&g, OP(K_OPEN, SLOT_SUP), P_SUP | P_READY | P_CRED(4));
	env_avail(&env, PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 1);
	gen_op_env(&g, SLOT_SUP, &env, 0);
	gen_op(&g, OP(K_OPEN, SLOT_REQ), P_REQ | P_READY);
	env_request(&env, 0);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	env_decline(&env, 1);
	gen_op_env(&g, SLOT_SUP, &env, 0);
	gen_op(&g, OP(K_TICK, 0), 25);
	gen_op(&g, OP(K_TICK, 0), 128 + 10);
	env_avail(&env, PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 1);
	gen_op_env(&g, SLOT_SUP, &env, 0);
	gen_write(&g, "dispatch", "decline-timeout");

	/* The operator asks for stats while a conversation runs. */
	gen_matched(&g, 0);
	gen_op(&g, OP(K_OPEN, SLOT_OTHER), P_OP | P_READY | P_CRED(2));
	env_stats(&env);
	gen_op_env(&g, SLOT_OTHER, &env, 0);
	gen_write(&g, "dispatch", "operator");

	/* The supporter connects again elsewhere, then is revoked. */
	gen_matched(&g, 0);
	gen_op(&g, OP(K_OPEN, SLOT_OTHER), P_SUP | P_READY | P_CRED(3));
	gen_op(&g, OP(K_REVOKE, 0), 0);
	gen_write(&g, "dispatch", "replaced-revoked");

	/* Shutdown in the middle of a conversation. */
	gen_matched(&g, 0);
	gen_byte(&g, OP(K_SHUTDOWN, 0));
	gen_op(&g, OP(K_TICK, 0), 30);
	gen_write(&g, "dispatch", "shutdown");

	/* Tight limits: rate limit, held cap, tiny text, grace 0. */
	gen_matched(&g, 0x01 | 0x02 | 0x10);
	env_chat(&env, 1, 1, "one");
	gen_op_env(&g, SLOT_REQ, &env, 0);
	env_chat(&env, 1, 2, "two");
	gen_op_env(&g, SLOT_REQ, &env, 0);
	env_chat(&env, 1, 3, "three is longer than sixteen bytes");
	gen_op_env(&g, SLOT_REQ, &env, 0);
	env_chat(&env, 1, 4, "four");
	gen_op_env(&g, SLOT_REQ, &env, 0);
	gen_byte(&g, OP(K_CLOSE, SLOT_SUP));
	gen_write(&g, "dispatch", "limits");

	/* Timeouts: no Hello, then idle, then EOF while closing. */
	gen_start(&g);
	gen_byte(&g, 0x40);
	gen_op(&g, OP(K_OPEN, 0), P_REQ);
	gen_op(&g, OP(K_OPEN, 1), P_REQ | P_READY);
	gen_op(&g, OP(K_TICK, 0), 30);
	gen_op(&g, OP(K_TICK, 0), 128 + 5);
	gen_byte(&g, OP(K_EOF, 1));
	gen_op(&g, OP(K_TICK, 0), 30);
	gen_write(&g, "dispatch", "timeouts");

	/* Bad frames: length 0, too large, not an Envelope, Hello twice. */
	gen_start(&g);
	gen_byte(&g, 0x80);
	gen_op(&g, OP(K_OPEN, 0), P_REQ | P_READY);
	gen_byte(&g, OP(K_DATA, 0));
	gen_byte(&g, 0);
	gen_byte(&g, 4);
	gen_add(&g, "\0\0\0\0", 4);
	gen_op(&g, OP(K_OPEN, 1), P_REQ | P_READY);
	gen_byte(&g, OP(K_DATA, 1));
	gen_byte(&g, 0);
	gen_byte(&g, 4);
	gen_add(&g, "\x7f\xff\xff\xff", 4);
	gen_op(&g, OP(K_OPEN, 2), P_REQ);
	gen_byte(&g, OP(K_FRAME, 2));
	gen_byte(&g, 0);
	gen_byte(&g, 2);
	gen_add(&g, "\xff\xff", 2);
	gen_op(&g, OP(K_OPEN, 0), P_REQ | P_READY);
	env_hello(&env, ROLE_REQUESTER, NULL, 0, 0);
	gen_op_env(&g, 0, &env, 0);
	gen_write(&g, "dispatch", "bad-frames");

	/*
	 * Backpressure: the supporter stops reading while the requester
	 * floods it; the supporter acknowledges without reading, so more
	 * is relayed than the held cap; then it reads again.
	 */
	gen_matched(&g, 0);
	gen_byte(&g, OP(K_PAUSE, SLOT_SUP));
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	env_chat(&env, 1, 1, big);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	gen_op(&g, OP(K_REPEAT, SLOT_REQ), 0xf3);	/* 512 */
	env_delivered(&env, 1, 100000);
	gen_op_env(&g, SLOT_SUP, &env, 0);
	gen_op(&g, OP(K_REPEAT, SLOT_REQ), 0xf3);
	env_typing(&env, 1);
	gen_op_env(&g, SLOT_REQ, &env, 0);
	gen_byte(&g, OP(K_PAUSE, SLOT_SUP));
	gen_op(&g, OP(K_TICK, 0), 10);
	gen_write(&g, "dispatch", "backpressure");

	/* A client that only sends: a Ping flood it never reads. */
	gen_start(&g);
	gen_byte(&g, 0);
	gen_op(&g, OP(K_OPEN, SLOT_OTHER), P_OP | P_READY | P_CRED(2));
	gen_byte(&g, OP(K_PAUSE, SLOT_OTHER));
	env_stats(&env);
	gen_op_env(&g, SLOT_OTHER, &env, 0);
	gen_op(&g, OP(K_REPEAT, SLOT_OTHER), 0xf7);	/* 1024 */
	gen_op(&g, OP(K_TICK, 0), 128 + 70);
	gen_write(&g, "dispatch", "flood");

	/* A supporter whose credential runs out while it is connected. */
	gen_matched(&g, 0);
	gen_op(&g, OP(K_TICK, 0), 250);
	gen_op(&g, OP(K_OPEN, SLOT_OTHER), P_SUP | P_READY | P_CRED(1));
	gen_write(&g, "dispatch", "expiry");
}

/* Write every corpus under DIR. */
int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds DIR\n");
		return (1);
	}
	gen_dir = argv[1];
	if (mkdir(gen_dir, 0755) != 0 && errno != EEXIST)
		gen_fail(gen_dir);
	gen_frame_seeds();
	gen_credential_seeds();
	gen_config_seeds();
	gen_dispatch_seeds();
	return (0);
}
