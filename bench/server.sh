#!/usr/bin/env bash
# Server benchmark: real fail2ban-server (Debian's 1.0.2) vs `ironban server`
# with 1, 10 and 50 jails, backend polling and auto (inotify), in one run.
#
# usage: bench/server.sh [JAILS...] [--bans N] [--backends polling,auto]
#        (default: 1 10 50, 20 bans, both backends)
#
# Prints, for both servers and as a ratio: time from start until every jail
# answers `status`, RSS and thread count of the server process, stop time,
# and line-to-ban delay (p50/p99). The work is done by bench/server_bench.py
# (see its docstring for how each figure is measured). The report is kept in
# bench/runs/<date>-server.txt.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

if ! [ -x /usr/bin/fail2ban-server ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fail2ban >/dev/null
fi
# fail2ban's backend = auto picks pyinotify when it is importable.
if ! /usr/bin/python3 -c 'import pyinotify' 2>/dev/null; then
    echo "bench: python3-pyinotify missing: fail2ban's 'auto' series falls back to polling" >&2
fi

(cd "$ROOT" && cargo build -q --release -p ironban-cli)
IRONBAN=$TARGET/release/ironban

mkdir -p "$HERE/runs"
OUT=$HERE/runs/$(date -u +%Y-%m-%dT%H%M%SZ)-server.txt
{
    echo "# bench/server.sh $*"
    echo "# $(date -u) on $(uname -srm), $(nproc) cpus"
    echo "# fail2ban: $(/usr/bin/fail2ban-server --version 2>&1 | head -1)"
    echo "# ironban: $(cd "$ROOT" && git rev-parse --short HEAD)"
    echo "# pyinotify: $(dpkg-query -W -f='${Version}' python3-pyinotify 2>/dev/null || echo absent)"
    echo "# ratio column: 1/x = ironban needs x times less than fail2ban; Nx = x times more"
} | tee "$OUT"
# the python helper kills both servers on SIGINT/SIGTERM and on exit
/usr/bin/python3 "$HERE/server_bench.py" "$IRONBAN" "$ROOT/config" "$@" 2>&1 | tee -a "$OUT" || status=$?
echo "report: $OUT"
exit "${status:-0}"
