#!/bin/sh
# Checks ironban's bundled default configuration (config/) with the real
# fail2ban from Debian as the oracle:
#   1. every bundled filter against upstream's annotated sample logs
#      (and ironban's own fixtures in fixtures/logs/),
#   2. fail2ban-client -d accepts the whole config, as shipped and with
#      every jail enabled,
#   3. every bundled action renders commands that `sh -n` accepts, and (as
#      root) the firewall actions really ban inside a network namespace,
#   4. the bundled example bans what config/examples/expected-banned.txt says.
# Prints "N passed, N failed" lines and exits non-zero on any failure.
#
# Needs: /usr/bin/python3 with Debian's fail2ban (apt-get install fail2ban),
# and the upstream corpus at $IRONBAN_SHARED/upstream/fail2ban (default
# ../shared beside the checkout).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${IRONBAN_SHARED:-$here/../shared}
upstream_logs=$shared/upstream/fail2ban/fail2ban/tests/files/logs
conf=$here/config
py=/usr/bin/python3
helpers=$here/scripts/default-config
status=0

if ! $py -c 'import fail2ban' 2>/dev/null || [ ! -x /usr/bin/fail2ban-client ]; then
    echo "check-default-config: real fail2ban missing (apt-get install fail2ban)" >&2
    exit 1
fi
if [ ! -d "$upstream_logs" ]; then
    echo "check-default-config: upstream sample logs not found at $upstream_logs" >&2
    exit 1
fi

# Every filter.d/*.conf that is a filter (not a *common.conf include).
filters=$(cd "$conf/filter.d" && ls *.conf | sed -n '/common\.conf$/!s/\.conf$//p')

echo "== 1. filters vs upstream samples"
with_samples=""
without=""
for f in $filters; do
    if [ -f "$upstream_logs/$f" ]; then with_samples="$with_samples $f"; else without="$without $f"; fi
done
$py "$helpers/filter_samples.py" "$conf" "$upstream_logs" $with_samples || status=1
echo "== 1b. filters vs ironban fixtures (fixtures/logs)"
own=""
for f in $filters; do
    [ -f "$here/fixtures/logs/$f" ] && own="$own $f"
done
if [ -n "$own" ]; then
    # Where upstream has samples too, ours only add cases (--partial).
    for f in $own; do
        if [ -f "$upstream_logs/$f" ]; then
            $py "$helpers/filter_samples.py" --partial "$conf" "$here/fixtures/logs" $f || status=1
        else
            $py "$helpers/filter_samples.py" "$conf" "$here/fixtures/logs" $f || status=1
        fi
    done
fi
for f in $without; do
    [ -f "$here/fixtures/logs/$f" ] || { echo "$f: no sample log anywhere (0 passed, 1 failed)"; status=1; }
done

echo "== 2. fail2ban-client -d"
tmp=$(mktemp -d /tmp/ironban-defaults.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
out=$tmp/dump.txt
if /usr/bin/fail2ban-client -c "$conf" -d >"$out" 2>&1 && ! grep -v "^\\[" "$out" | grep -q .; then
    echo "as shipped: 1 passed, 0 failed ($(wc -l <"$out") stream lines)"
else
    echo "as shipped: 0 passed, 1 failed"; sed 's/^/    /' "$out" | head -20; status=1
fi
# All jails enabled: log path variables point at empty files in $tmp.
cp -r "$conf" "$tmp/config"
rm -f "$tmp/config/jail.local" "$tmp/config/paths-overrides.local"
mkdir -p "$tmp/logs"
{
    echo "[DEFAULT]"
    for v in syslog_local0 syslog_authpriv syslog_mail syslog_mail_warn syslog_ftp syslog_user syslog_daemon \
             apache_error_log apache_access_log exim_main_log nginx_error_log nginx_access_log \
             vsftpd_log proftpd_log mysql_log; do
        : >"$tmp/logs/$v.log"
        echo "$v = $tmp/logs/$v.log"
    done
} >"$tmp/config/paths-overrides.local"
jails=$(sed -n 's/^\[\([^]]*\)\]$/\1/p' "$conf/jail.conf" | grep -v -e '^DEFAULT$' -e '^INCLUDES$')
: >"$tmp/logs/fail2ban.log"
{
    for j in $jails; do
        echo "[$j]"; echo "enabled = true"
        [ "$j" = recidive ] && echo "logpath = $tmp/logs/fail2ban.log"
        echo
    done
} >"$tmp/config/jail.local"
if /usr/bin/fail2ban-client -c "$tmp/config" -d >"$out" 2>&1 && ! grep -v "^\\[" "$out" | grep -q .; then
    ok=0; bad=0
    for j in $jails; do
        if grep -q "^\['add', '$j'," "$out"; then ok=$((ok+1)); else bad=$((bad+1)); echo "    jail $j missing from the stream"; fi
    done
    echo "all jails enabled: $ok passed, $bad failed"
    [ "$bad" -eq 0 ] || status=1
else
    echo "all jails enabled: 0 passed, 1 failed"; grep -v "^\\[" "$out" | head -20 | sed 's/^/    /'; status=1
fi
# The example's stream, as real fail2ban prints it from the repository root,
# is kept in config/examples/expected-dump.txt (ironban's dump must equal it).
if (cd "$here" && /usr/bin/fail2ban-client -c config/examples/confdir -d >"$out" 2>&1) \
    && cmp -s "$out" "$conf/examples/expected-dump.txt"; then
    echo "examples/expected-dump.txt current: 1 passed, 0 failed"
else
    echo "examples/expected-dump.txt current: 0 passed, 1 failed"; diff "$conf/examples/expected-dump.txt" "$out" | head -10 | sed 's/^/    /'; status=1
fi
# The example of docs/default-config.md.
if [ -d "$conf/examples" ]; then
    if (cd "$conf/examples" && /usr/bin/fail2ban-client -c "$conf/examples/confdir" -d >"$out" 2>&1) \
        && ! grep -v "^\\[" "$out" | grep -q . && grep -q "^\['start', " "$out"; then
        echo "examples/confdir: 1 passed, 0 failed"
    else
        echo "examples/confdir: 0 passed, 1 failed"; head -20 "$out" | sed 's/^/    /'; status=1
    fi
fi

echo "== 3. actions: rendered commands vs sh -n"
$py "$helpers/action_render.py" "$conf" || status=1

# Same firewall commands as fail2ban's own config (upstream snapshot) for
# the same jail settings; only the mail actions' wording may differ.
echo "== 3a. actions: firewall commands vs fail2ban's own action files"
fw_only() {
    awk '/^---- /{keep = ($0 !~ /sendmail/)} keep' | sed 's#/tmp/ironban-actions-[^/]*/#TMP/#'
}
$py "$helpers/action_render.py" "$conf" --show 2>/dev/null | grep -v ': [0-9]* passed' | fw_only >"$tmp/fw-ours.txt"
$py "$helpers/action_render.py" "$shared/upstream/fail2ban/config" --show 2>/dev/null | grep -v ': [0-9]* passed' | fw_only >"$tmp/fw-upstream.txt"
n=$(grep -c '^---- ' "$tmp/fw-upstream.txt")
if [ "$n" -gt 0 ] && cmp -s "$tmp/fw-ours.txt" "$tmp/fw-upstream.txt"; then
    echo "firewall commands identical to fail2ban's: $n passed, 0 failed"
else
    echo "firewall commands identical to fail2ban's: 0 passed, 1 failed"
    diff "$tmp/fw-upstream.txt" "$tmp/fw-ours.txt" | head -20 | sed 's/^/    /'; status=1
fi

# Real bans inside a throw-away network namespace (root only; the host's
# firewall is not touched).
echo "== 3b. actions: real bans in a network namespace"
if [ "$(id -u)" = 0 ]; then
    $py "$helpers/netns_actions.py" "$conf" || status=1
else
    echo "netns actions: skipped (not root)"
fi

# The example that the README's main job runs: real fail2ban-server in the
# foreground on config/examples, then `banned` must equal
# config/examples/expected-banned.txt.
echo "== 4. example run with real fail2ban-server"
exdir=$conf/examples/confdir
want=$(cat "$conf/examples/expected-banned.txt")
if /usr/bin/fail2ban-client -c "$exdir" ping >/dev/null 2>&1; then
    echo "example: 0 passed, 1 failed (a server already answers on the example socket)"; status=1
else
    /usr/bin/fail2ban-server -f -x -c "$exdir" >"$tmp/server.out" 2>&1 &
    spid=$!
    got=""
    i=0
    while [ $i -lt 40 ]; do
        sleep 0.5; i=$((i+1))
        got=$(/usr/bin/fail2ban-client -c "$exdir" banned 2>/dev/null) || continue
        [ "$got" = "$want" ] && break
    done
    /usr/bin/fail2ban-client -c "$exdir" stop >/dev/null 2>&1
    wait $spid 2>/dev/null
    if [ "$got" = "$want" ]; then
        echo "example: 1 passed, 0 failed ($got)"
    else
        echo "example: 0 passed, 1 failed: banned = '$got', expected '$want'"
        tail -20 "$tmp/server.out" | sed 's/^/    /'; status=1
    fi
fi

# ironban itself, when a binary is given (IRONBAN_BIN=target/release/ironban):
# its dump of the same three configurations must equal fail2ban's.
if [ -n "${IRONBAN_BIN:-}" ]; then
    echo "== 5. ironban client -d vs fail2ban-client -d"
    ok=0; bad=0
    for c in "$conf" "$tmp/config" config/examples/confdir; do
        (cd "$here" && /usr/bin/fail2ban-client -c "$c" -d >"$tmp/f2b.txt" 2>&1)
        (cd "$here" && "$IRONBAN_BIN" client -c "$c" -d >"$tmp/ib.txt" 2>&1)
        if cmp -s "$tmp/f2b.txt" "$tmp/ib.txt"; then ok=$((ok+1)); else
            bad=$((bad+1)); echo "    $c differs:"; diff "$tmp/f2b.txt" "$tmp/ib.txt" | head -10 | sed 's/^/      /'
        fi
    done
    echo "ironban dump: $ok passed, $bad failed"
    [ "$bad" -eq 0 ] || status=1
fi

exit $status
