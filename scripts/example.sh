#!/usr/bin/env bash
# ironban's main job on its bundled default config: the example confdir
# (config/examples/confdir: the bundled jail.conf plus sshd and dovecot jails
# with the dummy action) over the bundled example log. Builds ironban,
# prints the configuration stream, then what the filters find in the log.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p ironban-cli
bin=target/release/ironban
conf=$PWD/config/examples/confdir
echo "== configuration stream (ironban client -d)"
"$bin" client -c "$conf" -d
for jail in sshd dovecot; do
  echo "== $jail filter over config/examples/logs/example.log (ironban regex)"
  "$bin" regex "$PWD/config/examples/logs/example.log" "$conf/filter.d/$jail.conf" | sed -n '/^Lines:/p;/^Failregex:/p'
done
