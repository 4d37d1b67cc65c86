#!/usr/bin/env bash
# ironban's main job on its bundled default config: the server, in the
# foreground, on config/examples/confdir (the bundled jail.conf with the sshd
# and dovecot jails enabled and the dummy action) over the bundled example
# log. Prints the server's log as it goes, then the resulting bans, then
# stops the server. Exit 0 when the bans are the ones real fail2ban makes
# (config/examples/expected-banned.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${IRONBAN_BIN:-}" ]; then
  bin=$IRONBAN_BIN
else
  cargo build -q --release -p ironban-cli
  bin=$PWD/target/release/ironban
fi
conf=$PWD/config/examples/confdir

"$bin" server -f -x -c "$conf" start &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT

# Ready when it answers; done reading when the failure count stops moving.
for _ in $(seq 50); do "$bin" client -c "$conf" ping >/dev/null 2>&1 && break; sleep 0.2; done
last=""
for _ in $(seq 50); do
  now=$("$bin" client -c "$conf" status sshd 2>/dev/null; "$bin" client -c "$conf" status dovecot 2>/dev/null)
  [ "$now" = "$last" ] && break
  last=$now
  sleep 0.3
done

echo "== ironban client status sshd / dovecot"
"$bin" client -c "$conf" status sshd
"$bin" client -c "$conf" status dovecot
echo "== ironban client banned"
banned=$("$bin" client -c "$conf" banned)
echo "$banned"
"$bin" client -c "$conf" stop >/dev/null
wait $server || true
trap - EXIT
if [ "$banned" = "$(cat config/examples/expected-banned.txt)" ]; then
  echo "example: the same bans as real fail2ban (config/examples/expected-banned.txt)"
else
  echo "example: bans differ from real fail2ban's: $(cat config/examples/expected-banned.txt)" >&2
  exit 1
fi
