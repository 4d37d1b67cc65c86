#!/usr/bin/env bash
# ironban regex vs fail2ban-regex on 1,000,000 generated sshd and dovecot lines.
#
# usage: bench/run.sh [LINES]        (default 1000000)
#
# Installs Debian's fail2ban (for /usr/bin/fail2ban-regex) and GNU time if
# missing, builds `ironban` in release mode, generates the logs, runs both
# tools on the same filter files (/etc/fail2ban/filter.d, Debian's), checks
# that both print the same `Lines:` verdict, and prints wall time, peak RSS
# and the ratios. RSS of ironban is also measured on a tenth of the log to
# show it stays flat. The report is kept in bench/runs/.
set -euo pipefail

LINES=${1:-1000000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

need() { command -v "$1" >/dev/null 2>&1; }
if ! [ -x /usr/bin/fail2ban-regex ] || ! [ -x /usr/bin/time ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fail2ban time >/dev/null
fi
need python3 || { echo "bench: python3 is needed to generate logs" >&2; exit 2; }

(cd "$ROOT" && cargo build -q --release -p ironban-cli)
IRONBAN=$TARGET/release/ironban

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
REPORT=$HERE/runs/$(date -u +%Y-%m-%dT%H%M%SZ)-$(hostname -s).txt
mkdir -p "$HERE/runs"

measure() { # name outfile cmd...
    local out=$1; shift
    /usr/bin/time -v "$@" >"$out" 2>"$out.time" || true
    local wall rss
    wall=$(grep 'Elapsed (wall clock)' "$out.time" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    rss=$(grep 'Maximum resident set size' "$out.time" | awk '{print $NF}')
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$out.time")
    echo "$wall $rss $cpu"
}

{
echo "ironban bench: $LINES lines per log, $(date -u +%FT%TZ), $(nproc) CPUs, $(uname -m)"
echo "fail2ban-regex: $(/usr/bin/fail2ban-regex -V 2>/dev/null || echo '?'); ironban: $($IRONBAN --version)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (wall time suffers on a busy machine; CPU time less so)"
printf '%-8s %-16s %8s %8s %10s %s\n' log tool wall-s cpu-s "RSS(KiB)" "Lines:"
for kind in sshd dovecot; do
    python3 "$HERE/gen_logs.py" "$kind" "$LINES" >"$WORK/$kind.log"
    head -n $((LINES / 10)) "$WORK/$kind.log" >"$WORK/$kind-tenth.log"
    filter=/etc/fail2ban/filter.d/$kind.conf
    read -r iw ir ic < <(measure "$WORK/$kind.ironban" "$IRONBAN" regex "$WORK/$kind.log" "$filter")
    read -r tw tr tc < <(measure "$WORK/$kind.tenth" "$IRONBAN" regex "$WORK/$kind-tenth.log" "$filter")
    read -r fw fr fc < <(measure "$WORK/$kind.f2b" /usr/bin/fail2ban-regex "$WORK/$kind.log" "$filter")
    il=$(grep '^Lines:' "$WORK/$kind.ironban" | cut -d' ' -f2-)
    fl=$(grep '^Lines:' "$WORK/$kind.f2b" | cut -d' ' -f2-)
    printf '%-8s %-16s %8s %8s %10s %s\n' "$kind" "ironban" "$iw" "$ic" "$ir" "$il"
    printf '%-8s %-16s %8s %8s %10s %s\n' "$kind" "ironban (1/10)" "$tw" "$tc" "$tr" ""
    printf '%-8s %-16s %8s %8s %10s %s\n' "$kind" "fail2ban-regex" "$fw" "$fc" "$fr" "$fl"
    ratio=$(python3 -c "print('%.1f' % ($fw / max($iw, 0.001)))")
    cratio=$(python3 -c "print('%.1f' % ($fc / max($ic, 0.001)))")
    mem=$(python3 -c "print('%.1f' % ($fr / max($ir, 1)))")
    same=$([ "$il" = "$fl" ] && echo "same verdicts" || echo "VERDICTS DIFFER")
    echo "$kind: ironban is ${ratio}x faster (wall), ${cratio}x (CPU), uses ${mem}x less memory; $same"
done
} | tee "$REPORT"
echo "report: $REPORT"
