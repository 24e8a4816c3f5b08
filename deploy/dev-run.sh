#!/bin/sh
# dev-run.sh -- what `make run` does: development certificates, a private
# Redis, a development config, then peerd in the foreground.
#
# Usage: deploy/dev-run.sh [BUILD_DIR]
# Environment: REDIS=HOST:PORT uses that Redis instead of starting one on
# 127.0.0.1:7476.  Everything goes into ./run (gitignored); running it again
# reuses what is there.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
run=$top/run
mkdir -p "$run"
chmod 700 "$run"

"$top/deploy/gen-dev-certs.sh" "$run"

redis=${REDIS:-127.0.0.1:7476}
rhost=${redis%:*} rport=${redis##*:}
if redis-cli -h "$rhost" -p "$rport" ping >/dev/null 2>&1; then
	echo "run: using the Redis already answering on $redis"
elif [ -z "${REDIS:-}" ]; then
	redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
	    --daemonize yes --pidfile "$run/redis.pid" --logfile "$run/redis.log"
	echo "run: started a private Redis on $redis (pid file run/redis.pid)"
else
	echo "run: Redis $redis does not answer; peerd will keep retrying"
fi

# The organisation's signing key (the private half never goes to peerd),
# three demo supporters with different vetted tags, and one operator.
# Credentials are issued afresh each run so they never expire on you.
peerctl=$build/peerctl
[ -s "$run/signing.key" ] || "$peerctl" keygen --out "$run/signing" >/dev/null
[ -s "$run/requester.secret" ] || (umask 077; openssl rand -out "$run/requester.secret" 32)
chmod 600 "$run/requester.secret"
issue_as() {
	f=$1
	shift
	rm -f "$run/$f.cred"
	"$peerctl" issue --key "$run/signing.key" --out "$run/$f.cred" \
	    --days 30 "$@" >/dev/null
}
issue_as supporter-ash --id s-ash --name Ash --role supporter \
    --tags lgbtq,young-adult --lang en --capacity 2
issue_as supporter-bea --id s-bea --name Bea --role supporter \
    --tags bme,women,first-episode-psychosis --lang en,fr --capacity 2
issue_as supporter-cal --id s-cal --name Cal --role supporter \
    --tags prison,secure-hospital,inpatient --lang en --capacity 1
issue_as operator --id o-ops --name Operator --role operator --capacity 0

cat > "$run/peerd.conf" <<CONF
# Written by deploy/dev-run.sh for \`make run\`; rewritten each time.
listen		127.0.0.1:7474
admin_listen	127.0.0.1:7475
tls_cert	server.pem
tls_key		server.key
redis		$redis
log_level	info
signing_pubkey	signing.pub
requester_secret_file requester.secret
include		$top/deploy/tags.conf
CONF
# peerd refuses to run as root without a user to drop to; for development
# as root say so explicitly (a deployment sets `user peerd` instead).
[ "$(id -u)" != 0 ] || echo "allow_root	yes" >> "$run/peerd.conf"
"$build/peerd" -t -c "$run/peerd.conf"

cat <<MSG

peerd is starting on 127.0.0.1:7474 (TLS), admin on http://127.0.0.1:7475/
  check TLS:    openssl s_client -connect 127.0.0.1:7474 -CAfile run/ca.pem
  health:       curl http://127.0.0.1:7475/healthz
  credentials:  run/supporter-{ash,bea,cal}.cred, run/operator.cred
                (signed by run/signing.key; peerd holds only run/signing.pub)
  stop:         Ctrl-C (the private Redis keeps running: kill \$(cat run/redis.pid))

MSG
exec "$build/peerd" -c "$run/peerd.conf"
