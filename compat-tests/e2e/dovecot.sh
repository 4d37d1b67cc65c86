#!/usr/bin/env bash
# Scenario A of issue #8: the dovecot story end to end with real parts.
# Real Dovecot 2.3 in a network namespace, an attacker namespace failing ten
# logins, the server under test (real fail2ban or ironban) with the page's
# jail, iptables/nftables inside the namespace, mail through msmtp to a sink,
# Debian's real fail2ban-client for status/unban/stop.
#
#   compat-tests/e2e/dovecot.sh --server fail2ban|ironban [--ironban-bin PATH]
#       [--confdir DIR] [--bantime N] [--banaction iptables-multiport|nftables-multiport]
#       [--blocktype DROP|drop] [--keep] [--maillog-out FILE]
#
# Prints PASS/FAIL per check with a figure, ends with
# "e2e_dovecot: N passed, N failed"; exit 0 only if all passed. See README.md.
set -u
. "$(dirname "$0")/lib.sh"

SERVER_KIND=""
IRONBAN_BIN=""
CONFDIR=""
BANTIME=-10
BANACTION=iptables-multiport
BLOCKTYPE=""
MAILLOG_OUT=""
BLOCK_TIMEOUT=30
SERVER_STARTS=0

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --server) SERVER_KIND=$2; shift 2 ;;
        --ironban-bin) IRONBAN_BIN=$2; shift 2 ;;
        --confdir) CONFDIR=$2; shift 2 ;;
        --bantime) BANTIME=$2; shift 2 ;;
        --banaction) BANACTION=$2; shift 2 ;;
        --blocktype) BLOCKTYPE=$2; shift 2 ;;
        --maillog-out) MAILLOG_OUT=$2; shift 2 ;;
        --block-timeout) BLOCK_TIMEOUT=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage ;;
        *) say "unknown argument $1"; usage ;;
    esac
done
[ -n "$SERVER_KIND" ] || usage
case "$BANACTION" in iptables-multiport|nftables-multiport) ;; *) say "--banaction: iptables-multiport or nftables-multiport"; exit 2 ;; esac
if [ -z "$CONFDIR" ]; then
    if [ "$SERVER_KIND" = fail2ban ]; then CONFDIR=/etc/fail2ban; else CONFDIR=$REPO_DIR/config; fi
fi

summary() {
    say ""
    say "e2e_dovecot: $PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
}
abort() { fail "$1" "$2"; summary; exit 1; }

say "e2e_dovecot: server=$SERVER_KIND confdir=$CONFDIR banaction=$BANACTION${BLOCKTYPE:+ blocktype=$BLOCKTYPE} bantime=$BANTIME"
[ "$(id -u)" = 0 ] || abort "preflight" "needs root: network namespaces and iptables inside them"
PKGS=(dovecot-pop3d dovecot-imapd msmtp-mta iproute2 iptables)
[ "$BANACTION" = nftables-multiport ] && PKGS+=(nftables)
ensure_packages "${PKGS[@]}" || abort "preflight" "packages missing"
resolve_server "$SERVER_KIND" "$IRONBAN_BIN" || abort "preflight" "server under test not runnable"
[ -d "$CONFDIR/filter.d" ] && [ -d "$CONFDIR/action.d" ] || abort "preflight" "$CONFDIR has no filter.d/action.d"
say "server command: ${SERVER_CMD[*]}"

HOST_FW_BEFORE=$(host_fw_digest)
make_work
MAILLOG=$WORK/maillog
TAG=$$

step "network namespaces"
if netns_up; then
    pass "namespaces $NS_SRV/$NS_ATT/$NS_OK up" "server $SRV_ADDR, attacker $ATT_ADDR, good client $GOOD_ADDR"
else
    abort "namespaces" "could not create network namespaces here; nothing was banned"
fi

step "Dovecot in $NS_SRV"
mkdir -p "$WORK/dovecot/run" "$WORK/dovecot/state" "$WORK/dovecot/mail"
chown 65534:65534 "$WORK/dovecot/mail"
echo 'bob:{PLAIN}secret::::::' >"$WORK/dovecot/users"
touch "$MAILLOG"
sed -e "s|@WORK@|$WORK|g" -e "s|@TAG@|$TAG|g" -e "s|@SRV_ADDR@|$SRV_ADDR|g" \
    -e "s|@GOOD_ADDR@|$GOOD_ADDR|g" -e "s|@MAILLOG@|$MAILLOG|g" \
    "$E2E_DIR/templates/dovecot.conf.in" >"$WORK/dovecot/dovecot.conf"
spawn_in "$NS_SRV" "$WORK/dovecot.out" /usr/sbin/dovecot -F -c "$WORK/dovecot/dovecot.conf"
in_att $PY "$E2E_DIR/py/attacker.py" wait-open --server "$SRV_ADDR" >"$WORK/wait-open.out" 2>&1
if [ "$(result_of "$WORK/wait-open.out" open)" = yes ]; then
    pass "Dovecot $(dovecot --version | cut -d' ' -f1) answers the attacker on 110 and 143" "$(result_of "$WORK/wait-open.out" secs)s after start"
else
    cat "$WORK/dovecot.out"; tail -n 5 "$MAILLOG"
    abort "Dovecot answers on 110 and 143" "not reachable from $NS_ATT"
fi

step "SMTP sink and msmtp"
start_sink || abort "SMTP sink" "did not start: $(cat "$WORK/smtpsink.out")"
printf 'Subject: e2e rig self-test\n\nsink check\n' |
    in_srv env HOME="$WORK/home" /usr/sbin/sendmail -f fail2ban@example.com root >"$WORK/sendmail-test.out" 2>&1
rc=$?
f=$(mail_matching 'e2e rig self-test' 5)
check $([ $rc = 0 ] && [ -n "$f" ]; echo $?) "sendmail (msmtp) delivers to the sink in $NS_SRV" "sendmail rc=$rc, message ${f:+$(basename "$f")}"

step "server under test: $SERVER_KIND"
CONF=$WORK/conf
build_confdir "$CONF" "$CONFDIR" "$MAILLOG"
say "jail.local:"; sed 's/^/    /' "$CONF/jail.local"
if start_server "$CONF" dovecot; then
    pass "server starts with the page's jail, answers the real fail2ban-client" "ready in ${SERVER_READY_SECS}s"
else
    say "--- server output:"; cat "$WORK"/server.out.* 2>/dev/null | tail -n 30
    say "--- server log:"; tail -n 30 "$WORK/server.log" 2>/dev/null
    why=$(cat "$WORK"/server.out.* "$WORK/server.log" 2>/dev/null | grep -oE "Received [A-Za-z]+\(.{0,160}|ERROR:? .{0,160}" | head -n 1)
    abort "server starts with the page's jail" "${why:-no answer to 'status dovecot' within 30s}"
fi
f=$(mail_matching '\[Fail2Ban\] dovecot: started' 20)
check $([ -n "$f" ]; echo $?) "sink holds the '[Fail2Ban] dovecot: started' mail" "${f:+$(grep -m1 '^Subject:' "$f")}"

step "good client $GOOD_ADDR logs in (plaintext allowed for it by a remote block)"
good=0
for i in 1 2 3 4 5 6; do
    proto=pop3; [ $((i % 2)) = 0 ] && proto=imap
    in_ok $PY "$E2E_DIR/py/attacker.py" login --server "$SRV_ADDR" --bind "$GOOD_ADDR" \
        --proto $proto --user bob --password secret >"$WORK/good-$i.out" 2>&1
    [ "$(result_of "$WORK/good-$i.out" login)" = ok ] && good=$((good + 1))
done
logins=$(grep -c "Login: user=<bob>.*rip=$GOOD_ADDR," "$MAILLOG")
check $([ $good = 6 ] && [ "$logins" -ge 6 ]; echo $?) "good client's 6 logins succeed" "$good/6 OK replies, $logins Login lines in maillog"

step "attack from $ATT_ADDR: IMAP LOGIN with a wrong password, then POP3 'user hahahaha' + QUIT until refused"
in_att $PY "$E2E_DIR/py/attacker.py" attack --server "$SRV_ADDR" --addr "$ATT_ADDR" --maillog "$MAILLOG" \
    --plan 'imap,pop3*9' --probe-port 110 --block-timeout "$BLOCK_TIMEOUT" >"$WORK/attack.out" 2>&1
sed 's/^/    /' "$WORK/attack.out"
ok=$(result_of "$WORK/attack.out" attempts_ok)
lines=$(result_of "$WORK/attack.out" failure_lines)
early=$(result_of "$WORK/attack.out" early_block)
after=$(result_of "$WORK/attack.out" blocked_after)
how=$(result_of "$WORK/attack.out" blocked_how)
check $([ "$ok" = 10 ] && [ "$lines" = 10 ] && [ "$early" = 0 ]; echo $?) \
    "10 failed logins (1 IMAP + 9 POP3) each logged, none blocked before the 10th" \
    "$ok connected, $lines failure lines, early block at attempt ${early:-?}"
# REJECT (the actions' default) refuses; DROP (the page's) lets the connect time out.
want_how=refused; case "$BLOCKTYPE" in DROP|drop) want_how=timeout ;; esac
check $([ "$how" = "$want_how" ]; echo $?) "attacker's next connect to 110 fails (${BLOCKTYPE:-REJECT})" \
    "$(if [ "$how" = none ]; then echo "still open ${BLOCK_TIMEOUT}s after the 10th failure line"; else echo "$how ${after}s after the 10th failure line was written"; fi)"
in_att $PY "$E2E_DIR/py/attacker.py" probe --server "$SRV_ADDR" --ports 143 >"$WORK/probe-143.out" 2>&1
check $([ "$(result_of "$WORK/probe-143.out" 143)" = "$want_how" ]; echo $?) "attacker's connect to 143 fails" \
    "$(grep '^port' "$WORK/probe-143.out")"

step "firewall in $NS_SRV"
fw_show | sed 's/^/    /'
fw_has_ban "$ATT_ADDR"
check $? "$(fw_name) holds $ATT_ADDR" "$(fw_show | grep -F -- "$ATT_ADDR" | head -n 1 | sed 's/^ *//')"

step "mail"
f=$(mail_matching "\\[Fail2Ban\\] dovecot: banned $ATT_ADDR" 20)
check $([ -n "$f" ]; echo $?) "sink holds the ban mail naming $ATT_ADDR" "${f:+$(grep -m1 '^Subject:' "$f")}"
[ -n "$f" ] && { say "    --- $(basename "$f"):"; sed -n '1,40p' "$f" | sed 's/^/    /'; }

step "status through Debian's fail2ban-client"
client status dovecot >"$WORK/status-1.out" 2>&1
sed 's/^/    /' "$WORK/status-1.out"
grep -q "Banned IP list:.*\b$ATT_ADDR\b" "$WORK/status-1.out"
check $? "fail2ban-client status dovecot lists $ATT_ADDR" "$(grep -E 'Total failed|Banned IP list' "$WORK/status-1.out" | sed 's/^[ |`-]*//' | paste -sd';')"

step "good client after the ban"
in_ok $PY "$E2E_DIR/py/attacker.py" login --server "$SRV_ADDR" --bind "$GOOD_ADDR" --proto pop3 --user bob --password secret >"$WORK/good-after.out" 2>&1
gb=$(grep -c "\b$GOOD_ADDR\b" "$WORK/status-1.out")
fw_has_ban "$GOOD_ADDR"; gfw=$?
check $([ "$(result_of "$WORK/good-after.out" login)" = ok ] && [ "$gb" = 0 ] && [ $gfw != 0 ]; echo $?) \
    "good client $GOOD_ADDR never banned, still logs in" "login $(result_of "$WORK/good-after.out" login), in status: $gb, in firewall: $([ $gfw = 0 ] && echo yes || echo no)"

step "restart of the server (bantime = $BANTIME)"
stop_server
check $? "server stops through fail2ban-client stop" "exited ${STOP_SECS:-never}s after 'stop'"
if fw_chain_present; then inter="firewall still holds the jail while stopped"; else inter="firewall emptied by actionstop while stopped"; fi
say "    $inter"
if start_server "$CONF" dovecot; then
    pass "server starts again" "ready in ${SERVER_READY_SECS}s"
else
    fail "server starts again" "no answer within 30s"
fi
# A restored ban is re-applied asynchronously after the jail starts.
t0=$(now); restored=1
for _ in $(seq 100); do fw_has_ban "$ATT_ADDR" && { restored=0; break; }; sleep 0.1; done
rsecs=$(secs_since "$t0")
client status dovecot >"$WORK/status-2.out" 2>&1
sed 's/^/    /' "$WORK/status-2.out"
grep -q "Banned IP list:.*\b$ATT_ADDR\b" "$WORK/status-2.out"; listed=$?
in_att $PY "$E2E_DIR/py/attacker.py" probe --server "$SRV_ADDR" --ports 110,143 >"$WORK/probe-restart.out" 2>&1
r110=$(result_of "$WORK/probe-restart.out" 110); r143=$(result_of "$WORK/probe-restart.out" 143)
check $([ $restored = 0 ] && [ $listed = 0 ] && [ "$r110" = "$want_how" ] && [ "$r143" = "$want_how" ]; echo $?) \
    "ban on $ATT_ADDR survives the restart (bantime $BANTIME)" \
    "firewall: $([ $restored = 0 ] && echo "back ${rsecs}s after ready" || echo "absent after ${rsecs}s"), status lists it: $([ $listed = 0 ] && echo yes || echo no), 110 $r110, 143 $r143"
grep -E "Restore Ban|Ban $ATT_ADDR|Unban $ATT_ADDR|Ignore $ATT_ADDR" "$WORK/server.log" 2>/dev/null | sed 's/^/    server.log: /'

step "unban through fail2ban-client"
# Unbanning only proves something if there is a ban to lift.
fw_has_ban "$ATT_ADDR"; before=$?
client set dovecot unbanip "$ATT_ADDR" >"$WORK/unban.out" 2>&1
urc=$?
t0=$(now); gone=1
for _ in $(seq 100); do fw_has_ban "$ATT_ADDR" || { gone=0; break; }; sleep 0.1; done
usecs=$(secs_since "$t0")
check $([ $before = 0 ] && [ $urc = 0 ] && [ $gone = 0 ]; echo $?) "set dovecot unbanip $ATT_ADDR removes the firewall entry" \
    "entry there before: $([ $before = 0 ] && echo yes || echo NO), client rc=$urc answer '$(tr '\n' ' ' <"$WORK/unban.out" | sed 's/ *$//')', entry gone after ${usecs}s"
in_att $PY "$E2E_DIR/py/attacker.py" probe --server "$SRV_ADDR" --ports 110,143 >"$WORK/probe-unban.out" 2>&1
r110=$(result_of "$WORK/probe-unban.out" 110); r143=$(result_of "$WORK/probe-unban.out" 143)
check $([ $before = 0 ] && [ "$r110" = connected ] && [ "$r143" = connected ]; echo $?) "attacker connects again to 110 and 143" \
    "$([ $before = 0 ] || echo "nothing was banned; ")110 $r110 in $(result_of "$WORK/probe-unban.out" 110_secs)s, 143 $r143 in $(result_of "$WORK/probe-unban.out" 143_secs)s"

step "stop"
stop_server
src=$?
fw_chain_present; chain=$?
check $([ $src = 0 ] && [ $chain != 0 ]; echo $?) "server stops and removes its firewall chain" \
    "exited ${STOP_SECS:-never}s after 'stop', chain $([ $chain = 0 ] && echo still present || echo gone)"
f=$(mail_matching '\[Fail2Ban\] dovecot: stopped' 10)
say "    mails in the sink: $(grep -h '^Subject:' "$WORK"/mail/*.eml 2>/dev/null | sed 's/^Subject: //' | paste -sd'|')"
check $([ -n "$f" ]; echo $?) "sink holds the '[Fail2Ban] dovecot: stopped' mail" "${f:+$(grep -m1 '^Subject:' "$f")}"

HOST_FW_AFTER=$(host_fw_digest)
check $([ "$HOST_FW_BEFORE" = "$HOST_FW_AFTER" ]; echo $?) "host's own firewall untouched" "digest $HOST_FW_BEFORE before, $HOST_FW_AFTER after"
[ -n "$MAILLOG_OUT" ] && cp "$MAILLOG" "$MAILLOG_OUT"
summary
