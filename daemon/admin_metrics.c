/*
 * admin_metrics.c -- /metrics: the figures of stats_snapshot() in the
 * Prometheus text exposition format, version 0.0.4.
 *
 * Counts only.  The only labels are catalogue tag names, supporter
 * statuses, offer outcomes and connection roles: never an id, a name or
 * text, so no series ever points at a person.
 */
#include <inttypes.h>
#include <string.h>

#include <event2/buffer.h>

#include "peerd.h"

/* Write the # HELP and # TYPE lines of a metric. */
static void
admin_metrics_head(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* Write one unlabelled sample. */
static void
admin_metrics_one(struct evbuffer *out, const char *name, const char *type,
    const char *help, uint64_t v)
{
	admin_metrics_head(out, name, type, help);
	evbuffer_add_printf(out, "%s %" PRIu64 "\n", name, v);
}

/* Write a label value escaped as the format asks (\\, \", \n). */
static void
admin_metrics_label(struct evbuffer *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*v == '"')
			evbuffer_add(out, "\\\"", 2);
		else if (*v == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, v, 1);
	}
}

/* Write one sample with a single label. */
static void
admin_metrics_labelled(struct evbuffer *out, const char *name,
    const char *label, const char *value, uint64_t v)
{
	evbuffer_add_printf(out, "%s{%s=\"", name, label);
	admin_metrics_label(out, value);
	evbuffer_add_printf(out, "\"} %" PRIu64 "\n", v);
}

/* Write the wait histogram (cumulative buckets, _sum, _count). */
static void
admin_metrics_histogram(struct evbuffer *out, const struct stats_snapshot *sn)
{
	const char	*name = "peerd_wait_seconds";
	u_int		 i;

	admin_metrics_head(out, name, "histogram",
	    "Seconds requesters waited before being matched, since start.");
	for (i = 0; i < STATS_NBUCKETS; i++) {
		if (stats_bucket_le[i] == 0)
			evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %"
			    PRIu64 "\n", name, sn->wait_buckets[i]);
		else
			evbuffer_add_printf(out, "%s_bucket{le=\"%u\"} %"
			    PRIu64 "\n", name, stats_bucket_le[i],
			    sn->wait_buckets[i]);
	}
	evbuffer_add_printf(out, "%s_sum %" PRIu64 ".%03u\n", name,
	    sn->wait_sum_ms / 1000, (u_int)(sn->wait_sum_ms % 1000));
	evbuffer_add_printf(out, "%s_count %" PRIu64 "\n", name,
	    sn->wait_count);
}

/* Write every metric of sn to out. */
void
admin_metrics_write(struct evbuffer *out, const struct stats_snapshot *sn)
{
	u_int	i;

	admin_metrics_one(out, "peerd_queue_waiting", "gauge",
	    "Requesters waiting for a peer now.", sn->queue_waiting);
	admin_metrics_head(out, "peerd_queue_waiting_by_tag", "gauge",
	    "Requesters waiting who need or prefer a peer with this tag.");
	for (i = 0; i < sn->ntags; i++)
		admin_metrics_labelled(out, "peerd_queue_waiting_by_tag", "tag",
		    sn->tags[i].name, sn->tags[i].waiting);
	admin_metrics_one(out, "peerd_queue_oldest_wait_seconds", "gauge",
	    "Seconds the longest-waiting requester has waited so far.",
	    sn->oldest_wait_s);
	admin_metrics_histogram(out, sn);

	admin_metrics_head(out, "peerd_supporters", "gauge",
	    "Supporters known to this node, by status (offline: dropped, "
	    "conversations held for their return).");
	for (i = 0; i < STATS_NSTATUS; i++)
		admin_metrics_labelled(out, "peerd_supporters", "status",
		    stats_status_name(i), sn->supporters[i]);
	admin_metrics_head(out, "peerd_supporter_capacity_available_by_tag",
	    "gauge", "Free conversation slots of available supporters "
	    "with this tag.");
	for (i = 0; i < sn->ntags; i++)
		admin_metrics_labelled(out,
		    "peerd_supporter_capacity_available_by_tag", "tag",
		    sn->tags[i].name, sn->tags[i].capacity);
	admin_metrics_one(out, "peerd_supporter_capacity_available", "gauge",
	    "Free conversation slots of all available supporters.",
	    sn->capacity_total);

	admin_metrics_one(out, "peerd_conversations_active", "gauge",
	    "Conversations going on now.", sn->conversations_active);
	admin_metrics_one(out, "peerd_messages_relayed_total", "counter",
	    "Chat messages accepted for relay since start.",
	    sn->messages_relayed);
	admin_metrics_one(out, "peerd_matches_total", "counter",
	    "Conversations started since start.", sn->matches);
	admin_metrics_head(out, "peerd_offers_total", "counter",
	    "Offers made to supporters since start, by outcome.");
	admin_metrics_labelled(out, "peerd_offers_total", "outcome",
	    "accepted", sn->offers_accepted);
	admin_metrics_labelled(out, "peerd_offers_total", "outcome",
	    "declined", sn->offers_declined);
	admin_metrics_labelled(out, "peerd_offers_total", "outcome",
	    "timed_out", sn->offers_timed_out);
	admin_metrics_one(out, "peerd_reports_total", "counter",
	    "Conversations reported by a participant since start.",
	    sn->reports);

	admin_metrics_head(out, "peerd_connections", "gauge",
	    "Client connections open now, by role (none: before Hello).");
	for (i = 0; i < STATS_NROLES; i++)
		admin_metrics_labelled(out, "peerd_connections", "role",
		    stats_role_name(i), sn->connections[i]);
	admin_metrics_one(out, "peerd_tls_handshake_failures_total",
	    "counter", "TLS handshakes that failed since start.",
	    sn->tls_failed);
	admin_metrics_one(out, "peerd_redis_up", "gauge",
	    "1 while Redis answers, else 0 (peerd keeps serving).",
	    sn->redis_up ? 1 : 0);
	/* Not in the snapshot: a state of revoke.c, read where it is. */
	admin_metrics_one(out, "peerd_revocations_known", "gauge",
	    "1 once the revocation list was read from Redis since start, "
	    "else 0 (supporters are told TRY_LATER).", revoke_known() ? 1 : 0);
}
