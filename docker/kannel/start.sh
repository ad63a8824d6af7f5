#!/usr/bin/env bash
# Runs Kannel's bearerbox, the fake SMSC and smsbox together (docker/compose.yaml's `kannel`
# service). Every SMS the fake SMSC receives is printed as a line of its own:
#   SMS to +8613800138000: Your ContactVerify code is 123456
# so `docker compose logs -f kannel` shows what a phone would get. Ends when any box ends.
#   start.sh [kannel.conf]    (default /etc/kannel/kannel.conf; its store folder must exist)
set -euo pipefail
CONF="${1:-/etc/kannel/kannel.conf}"
store="$(sed -n 's/^store-location = "\(.*\)"/\1/p' "$CONF")"
mkdir -p "$(dirname "$store")"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
/usr/sbin/bearerbox -v 2 "$CONF" &
pids+=($!)
# The fake SMSC needs bearerbox's SMSC port; smsbox retries its own connection.
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/13014) 2>/dev/null && break
  sleep 0.1
done
# fakesmsc logs each message at debug level on stderr:
#   DEBUG: Got message 1: <12345 +8613800138000 text Your code is 123456>
/usr/lib/kannel/test/fakesmsc -H 127.0.0.1 -r 13014 -m 0 -v 0 -D receive "100 200 text unused" 2>&1 \
  | sed -un 's/.*Got message [0-9]*: <[^ ]* \([^ ]*\) [^ ]* \(.*\)>$/SMS to \1: \2/p' &
pids+=($!)
/usr/sbin/smsbox -v 2 "$CONF" &
pids+=($!)
wait -n
