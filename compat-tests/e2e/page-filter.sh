#!/usr/bin/env bash
# Scenario B of issue #8: the page's own filter.d/dovecot.conf, verbatim
# (old-style `(?P<host>\S*)`, fixtures/page-filter.d/dovecot.conf) with the
# page's own log line written ten times with current timestamps. The server
# under test should ban the address with a real iptables rule inside a
# namespace (real fail2ban 1.x refuses the filter). Then `ironban check` on
# the same jail pointed at a real Dovecot 2.3 maillog must warn that the
# filter matches none of its lines.
#
#   compat-tests/e2e/page-filter.sh --server fail2ban|ironban [--ironban-bin PATH]
#       [--confdir DIR] [--bantime N] [--maillog-2.3 FILE] [--keep]
#
# Ends with "e2e_page_filter: N passed, N failed"; exit 0 only if all passed.
set -u
. "$(dirname "$0")/lib.sh"

SERVER_KIND=""
IRONBAN_BIN=""
CONFDIR=""
BANTIME=-10
BANACTION=iptables-multiport
MAILLOG23=$E2E_DIR/fixtures/maillog-dovecot-2.3
SERVER_STARTS=0

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --server) SERVER_KIND=$2; shift 2 ;;
        --ironban-bin) IRONBAN_BIN=$2; shift 2 ;;
        --confdir) CONFDIR=$2; shift 2 ;;
        --bantime) BANTIME=$2; shift 2 ;;
        --maillog-2.3) MAILLOG23=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage ;;
        *) say "unknown argument $1"; usage ;;
    esac
done
[ -n "$SERVER_KIND" ] || usage
if [ -z "$CONFDIR" ]; then
    if [ "$SERVER_KIND" = fail2ban ]; then CONFDIR=/etc/fail2ban; else CONFDIR=$REPO_DIR/config; fi
fi

summary() {
    say ""
    say "e2e_page_filter: $PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
}
abort() { fail "$1" "$2"; summary; exit 1; }

say "e2e_page_filter: server=$SERVER_KIND confdir=$CONFDIR bantime=$BANTIME"
[ "$(id -u)" = 0 ] || abort "preflight" "needs root: network namespaces and iptables inside them"
ensure_packages msmtp-mta iproute2 iptables || abort "preflight" "packages missing"
resolve_server "$SERVER_KIND" "$IRONBAN_BIN" || abort "preflight" "server under test not runnable"
[ -r "$MAILLOG23" ] || abort "preflight" "no Dovecot 2.3 maillog at $MAILLOG23"
HOST_FW_BEFORE=$(host_fw_digest)
make_work
MAILLOG=$WORK/maillog

step "network namespaces"
netns_up || abort "namespaces" "could not create network namespaces here; nothing was banned"
pass "namespaces $NS_SRV/$NS_ATT up" "server $SRV_ADDR, attacker $ATT_ADDR"
spawn_in "$NS_SRV" "$WORK/listener.out" $PY -u "$E2E_DIR/py/listener.py" "$SRV_ADDR" 110,143
in_att $PY "$E2E_DIR/py/attacker.py" wait-open --server "$SRV_ADDR" >"$WORK/wait-open.out" 2>&1
[ "$(result_of "$WORK/wait-open.out" open)" = yes ] || abort "stand-in service on 110/143" "not reachable"
start_sink || abort "SMTP sink" "did not start"

step "server under test with the page's filter, verbatim"
CONF=$WORK/conf
build_confdir "$CONF" "$CONFDIR" "$MAILLOG"
cp "$E2E_DIR/fixtures/page-filter.d/dovecot.conf" "$CONF/filter.d/dovecot.conf"
rm -f "$CONF/filter.d/dovecot.local"
sed 's/^/    /' "$CONF/filter.d/dovecot.conf"
touch "$MAILLOG"
SERVER_UP=1
if start_server "$CONF" dovecot; then
    SERVER_UP=0
    pass "server starts the jail with the page's filter" "ready in ${SERVER_READY_SECS}s"
else
    why=$(cat "$WORK"/server.out.* "$WORK/server.log" 2>/dev/null | grep -oE "Received [A-Za-z]+\(.{0,160}|ERROR:? .{0,160}" | head -n 1)
    fail "server starts the jail with the page's filter" "refused: ${why:-no answer to 'status dovecot'}"
fi

step "the page's log line, ten times, current timestamps"
# The page's line: Sep 17 15:05:14 user dovecot: pop3-login: Aborted login (tried to use
# disabled plaintext auth): rip=72.21.81.85, lip=198.81.129.107
# Addresses become this run's (attacker, server) so the block can be tried for real.
page_line() { printf '%s user dovecot: pop3-login: Aborted login (tried to use disabled plaintext auth): rip=%s, lip=%s\n' \
    "$(LC_ALL=C date '+%b %e %H:%M:%S')" "$ATT_ADDR" "$SRV_ADDR"; }
for i in 1 2 3 4 5 6 7 8 9; do page_line >>"$MAILLOG"; sleep 0.05; done
sleep 2
in_att $PY "$E2E_DIR/py/attacker.py" probe --server "$SRV_ADDR" --ports 110 >"$WORK/probe-9.out" 2>&1
check $([ $SERVER_UP = 0 ] && [ "$(result_of "$WORK/probe-9.out" 110)" = connected ]; echo $?) "not blocked after 9 lines (maxretry 10)" \
    "$([ $SERVER_UP = 0 ] || echo "no server running; ")110 $(result_of "$WORK/probe-9.out" 110) 2s after the 9th line"
page_line >>"$MAILLOG"; mark=$(now)
tail -n 1 "$MAILLOG" | sed 's/^/    /'
in_att $PY "$E2E_DIR/py/attacker.py" wait-blocked --server "$SRV_ADDR" --port 110 --since "$mark" --timeout 20 >"$WORK/blocked.out" 2>&1
b=$(result_of "$WORK/blocked.out" blocked)
check $([ "$b" = refused ]; echo $?) "attacker's connect to 110 refused after the 10th line" \
    "$(if [ "$b" = no ]; then echo "still open 20s after the 10th line"; else echo "$b $(result_of "$WORK/blocked.out" after)s after the 10th line was written"; fi)"
in_att $PY "$E2E_DIR/py/attacker.py" probe --server "$SRV_ADDR" --ports 143 >"$WORK/probe-143.out" 2>&1
check $([ "$(result_of "$WORK/probe-143.out" 143)" = refused ]; echo $?) "attacker's connect to 143 refused" \
    "$(grep '^port' "$WORK/probe-143.out")"
fw_has_ban "$ATT_ADDR"
check $? "$(fw_name) holds $ATT_ADDR" "$(fw_show | grep -F -- "$ATT_ADDR" | head -n 1)"
client status dovecot >"$WORK/status.out" 2>&1
grep -q "Banned IP list:.*\b$ATT_ADDR\b" "$WORK/status.out"
check $? "fail2ban-client status dovecot lists $ATT_ADDR" "$(grep -E 'Total failed|Banned IP list' "$WORK/status.out" | sed 's/^[ |`-]*//' | paste -sd';')"
f=$(mail_matching "\\[Fail2Ban\\] dovecot: banned $ATT_ADDR" 10)
check $([ -n "$f" ]; echo $?) "sink holds the ban mail naming $ATT_ADDR" "${f:+$(grep -m1 '^Subject:' "$f")}"
kill -0 "${SERVER_PID:-0}" 2>/dev/null && stop_server

step "the page's jail on a real Dovecot 2.3 maillog: does the operator hear that nothing matches?"
CONF2=$WORK/conf-check
MAILLOG_COPY=$WORK/maillog-2.3
cp "$MAILLOG23" "$MAILLOG_COPY"
build_confdir "$CONF2" "$CONFDIR" "$MAILLOG_COPY"
cp "$E2E_DIR/fixtures/page-filter.d/dovecot.conf" "$CONF2/filter.d/dovecot.conf"
rm -f "$CONF2/filter.d/dovecot.local"
n23=$(grep -c 'rip=' "$MAILLOG_COPY")
if [ "$SERVER_KIND" = ironban ]; then
    "${SERVER_CMD[0]}" check -c "$CONF2" >"$WORK/check.out" 2>&1; crc=$?
    sed 's/^/    /' "$WORK/check.out"
    # The warning must name the jail or filter and say it matches nothing.
    grep -iE 'dovecot' "$WORK/check.out" | grep -qiE 'match(es|ed)? (none|nothing|no line|0 )|0 (of|/) ?[0-9]+ lines|no line.* match'
    check $? "ironban check warns the page's filter matches none of the 2.3 log" "rc=$crc, $n23 lines with rip= in the log"
else
    /usr/bin/fail2ban-client -c "$CONF2" -t >"$WORK/check.out" 2>&1; crc=$?
    sed 's/^/    /' "$WORK/check.out" | head -n 8
    fail "a check warns the page's filter matches none of the 2.3 log" \
        "fail2ban has no such check; fail2ban-client -t rc=$crc: $(grep -m1 -E 'ERROR|OK' "$WORK/check.out" | sed 's/^.*\(ERROR\|OK\)/\1/')"
fi

HOST_FW_AFTER=$(host_fw_digest)
check $([ "$HOST_FW_BEFORE" = "$HOST_FW_AFTER" ]; echo $?) "host's own firewall untouched" "digest $HOST_FW_BEFORE before, $HOST_FW_AFTER after"
summary
