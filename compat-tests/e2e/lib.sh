# shellcheck shell=bash
# Shared plumbing of the e2e rig: argument defaults, the PASS/FAIL tally,
# packages, network namespaces, the SMTP sink, and the server under test.
# Sourced by dovecot.sh and page-filter.sh; see README.md.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$E2E_DIR/../.." && pwd)
PY=/usr/bin/python3
F2B_CLIENT=/usr/bin/fail2ban-client

SRV_ADDR=10.231.0.1
ATT_ADDR=10.231.0.2
GOOD_ADDR=10.231.0.3
SMTP_PORT=2525

PASSED=0
FAILED=0
STARTED_PIDS=()
NETNSES=()
WORK=""
KEEP=0

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }

# pass NAME FIGURE / fail NAME FIGURE / check CONDITION-EXIT-CODE NAME FIGURE
pass() { PASSED=$((PASSED + 1)); printf 'PASS  %s  (%s)\n' "$1" "$2"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s  (%s)\n' "$1" "$2"; }
check() { if [ "$1" = 0 ]; then pass "$2" "$3"; else fail "$2" "$3"; fi; }

# Value of KEY in the last "RESULT k=v ..." line of a helper's output.
result_of() { # FILE KEY
    grep '^RESULT ' "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

now() { date +%s.%N; }
secs_since() { $PY -c "import sys,time; print('%.3f' % (time.time() - float(sys.argv[1])))" "$1"; }

# --- packages -------------------------------------------------------------
# Installs what is missing when run as root, otherwise names it and fails.
# Never replaces another MTA: /usr/sbin/sendmail must be msmtp or absent.
ensure_packages() { # PKG...
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ -e /usr/sbin/sendmail ] && [[ " ${missing[*]} " == *" msmtp-mta "* ]]; then
        say "e2e: /usr/sbin/sendmail belongs to another MTA ($(readlink -f /usr/sbin/sendmail)); refusing to replace it with msmtp-mta"
        return 1
    fi
    if [ "$(id -u)" != 0 ]; then
        say "e2e: missing Debian packages: ${missing[*]} (run as root to install them)"
        return 1
    fi
    say "e2e: installing ${missing[*]}"
    apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
        say "e2e: apt-get install ${missing[*]} failed"; return 1; }
}

# --- work dir and cleanup ---------------------------------------------------
make_work() {
    WORK=$(mktemp -d /tmp/ib-e2e.XXXXXX)
    chmod 755 "$WORK"   # Dovecot's unprivileged login processes traverse it
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

cleanup() {
    local rc=$? pid ns
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${STARTED_PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null
    done
    # Anything still living in our namespaces was started by this run
    # (action commands, Dovecot's children): end it by pid before deleting.
    for ns in "${NETNSES[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ "$KEEP" = 1 ]; then say "e2e: kept work dir $WORK"; else rm -rf "$WORK"; fi
    fi
    exit $rc
}

# Start a long-running process inside a namespace and remember its pid
# (ip netns exec execs the command, so $! is the process itself).
spawn_in() { # NS LOGFILE CMD...
    local ns=$1 log=$2; shift 2
    ip netns exec "$ns" "$@" >"$log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

forget_pid() { # PID
    local keep=() p
    for p in "${STARTED_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    STARTED_PIDS=("${keep[@]}")
}

# --- network namespaces -----------------------------------------------------
# server (10.231.0.1 on a bridge) <- veth -> attacker (10.231.0.2)
#                                 <- veth -> good client (10.231.0.3)
NS_SRV="ib-srv-$$"
NS_ATT="ib-att-$$"
NS_OK="ib-ok-$$"

netns_up() {
    ip netns add "$NS_SRV" || return 1; NETNSES+=("$NS_SRV")
    ip netns add "$NS_ATT" || return 1; NETNSES+=("$NS_ATT")
    ip netns add "$NS_OK" || return 1; NETNSES+=("$NS_OK")
    ip -n "$NS_SRV" link set lo up
    ip -n "$NS_ATT" link set lo up
    ip -n "$NS_OK" link set lo up
    ip -n "$NS_SRV" link add br0 type bridge || return 1
    ip -n "$NS_SRV" addr add "$SRV_ADDR/24" dev br0
    ip -n "$NS_SRV" link set br0 up
    local peer ns addr i=0
    for pair in "$NS_ATT:$ATT_ADDR" "$NS_OK:$GOOD_ADDR"; do
        ns=${pair%%:*}; addr=${pair#*:}; i=$((i + 1))
        # Veth names are created inside the server namespace, so they never
        # appear (or collide) in the host's own namespace.
        ip -n "$NS_SRV" link add "s$i" type veth peer name "p$i" || return 1
        ip -n "$NS_SRV" link set "p$i" netns "$ns" || return 1
        ip -n "$NS_SRV" link set "s$i" master br0
        ip -n "$NS_SRV" link set "s$i" up
        ip -n "$ns" addr add "$addr/24" dev "p$i"
        ip -n "$ns" link set "p$i" up
    done
}

# --- SMTP sink ----------------------------------------------------------------
start_sink() {
    mkdir -p "$WORK/mail"
    spawn_in "$NS_SRV" "$WORK/smtpsink.out" $PY -u "$E2E_DIR/py/smtpsink.py" 127.0.0.1 "$SMTP_PORT" "$WORK/mail"
    SINK_PID=$LAST_PID
    mkdir -p "$WORK/home"
    sed -e "s|@WORK@|$WORK|g" -e "s|@SMTP_PORT@|$SMTP_PORT|g" "$E2E_DIR/templates/msmtprc.in" >"$WORK/home/.msmtprc"
    chmod 600 "$WORK/home/.msmtprc"
    for _ in $(seq 50); do grep -q listening "$WORK/smtpsink.out" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

# mail_matching REGEX: prints the file of the first sink message whose
# Subject matches, waiting up to $2 seconds (default 20).
mail_matching() {
    local re=$1 wait=${2:-20} f end
    end=$(( $(date +%s) + wait ))
    while :; do
        for f in "$WORK"/mail/*.eml; do
            [ -e "$f" ] || continue
            grep -Eq "^Subject: .*$re" "$f" && { echo "$f"; return 0; }
        done
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.2
    done
}

# --- the server under test ----------------------------------------------------
# SERVER_KIND=fail2ban|ironban; SERVER_CMD is the program run as
#   SERVER_CMD -f -x -c CONFDIR -s SOCK -p PID --logtarget FILE
resolve_server() { # KIND IRONBAN_BIN
    case "$1" in
        fail2ban) SERVER_CMD=(/usr/bin/fail2ban-server) ;;
        ironban)
            local bin=$2 c
            if [ -z "$bin" ]; then
                for c in "${CARGO_TARGET_DIR:-}/release/ironban" "${CARGO_TARGET_DIR:-}/debug/ironban" \
                         "$REPO_DIR/target/release/ironban" "$REPO_DIR/target/debug/ironban" \
                         "$(command -v ironban 2>/dev/null)"; do
                    [ -n "$c" ] && [ -x "$c" ] && { bin=$c; break; }
                done
            fi
            [ -n "$bin" ] && [ -x "$bin" ] || { say "e2e: no ironban binary (build it or pass --ironban-bin PATH)"; return 1; }
            # `ironban server ...` unless the binary is already the fail2ban-server link.
            if [ "$(basename "$bin")" = fail2ban-server ]; then SERVER_CMD=("$bin"); else SERVER_CMD=("$bin" server); fi ;;
        *) say "e2e: --server must be fail2ban or ironban"; return 1 ;;
    esac
    [ -x "${SERVER_CMD[0]}" ] || { say "e2e: ${SERVER_CMD[0]} not found"; return 1; }
    [ -x "$F2B_CLIENT" ] || { say "e2e: Debian's $F2B_CLIENT is needed to talk to the server"; return 1; }
}

client() { "$F2B_CLIENT" -s "$WORK/server.sock" "$@"; }

# Starts the server in the server namespace with HOME pointing at the msmtprc;
# waits until it answers ping and lists the jail. Sets SERVER_PID, SERVER_READY_SECS.
start_server() { # CONFDIR JAIL
    local t0 n
    t0=$(now)
    spawn_in "$NS_SRV" "$WORK/server.out.$((++SERVER_STARTS))" \
        env -i HOME="$WORK/home" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        "${SERVER_CMD[@]}" -f -x -c "$1" -s "$WORK/server.sock" -p "$WORK/server.pid" --logtarget "$WORK/server.log"
    SERVER_PID=$LAST_PID
    for n in $(seq 300); do
        kill -0 "$SERVER_PID" 2>/dev/null || { SERVER_READY_SECS=""; return 1; }
        if client status "$2" >/dev/null 2>&1; then
            SERVER_READY_SECS=$(secs_since "$t0")
            # The jail is added before the rest of the config stream is applied
            # (a filter that fails to compile fails later): it must still be
            # there, in a live server, a second on.
            sleep 1
            kill -0 "$SERVER_PID" 2>/dev/null && client status "$2" >/dev/null 2>&1 && return 0
            SERVER_READY_SECS=""
            return 1
        fi
        sleep 0.1
    done
    SERVER_READY_SECS=""
    return 1
}

# Stops it through the real client; waits for the process to end.
stop_server() {
    local t0
    t0=$(now)
    client stop >"$WORK/client-stop.out" 2>&1
    for _ in $(seq 300); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID"; sleep 1; kill -9 "$SERVER_PID" 2>/dev/null
        STOP_SECS=""; forget_pid "$SERVER_PID"; return 1
    fi
    wait "$SERVER_PID" 2>/dev/null
    STOP_SECS=$(secs_since "$t0")
    forget_pid "$SERVER_PID"
}

in_srv() { ip netns exec "$NS_SRV" "$@"; }
in_att() { ip netns exec "$NS_ATT" "$@"; }
in_ok() { ip netns exec "$NS_OK" "$@"; }

# Digest of the host's own firewall (read only): the rig must leave it as found.
host_fw_digest() {
    { iptables-save 2>/dev/null | grep -v '^#'; ip6tables-save 2>/dev/null | grep -v '^#'
      command -v nft >/dev/null && nft list ruleset 2>/dev/null; } | sha256sum | cut -c1-16
}

# --- the jail's firewall inside the server namespace (BANACTION) ----------
# Where the firewall holds the address, per banaction.
fw_has_ban() { # ADDR -> 0 if the rule/set element naming ADDR is in place
    if [ "$BANACTION" = iptables-multiport ]; then
        in_srv iptables -w -S 2>/dev/null | grep -Eq -- "^-A f2b-dovecot -s $1/32 -j (REJECT|DROP)"
    else
        in_srv nft list set inet f2b-table addr-set-dovecot 2>/dev/null | grep -Eq "elements = \{.*\b$1\b"
    fi
}
fw_show() {
    if [ "$BANACTION" = iptables-multiport ]; then in_srv iptables -w -S 2>&1; else in_srv nft list ruleset 2>&1; fi
}
fw_chain_present() {
    if [ "$BANACTION" = iptables-multiport ]; then in_srv iptables -w -S 2>/dev/null | grep -q -- '-N f2b-dovecot'
    else in_srv nft list ruleset 2>/dev/null | grep -q 'addr-set-dovecot'; fi
}
fw_name() { if [ "$BANACTION" = iptables-multiport ]; then echo "iptables -S: chain f2b-dovecot"; else echo "nft list ruleset: inet f2b-table set addr-set-dovecot"; fi; }

# --- the server's config dir ----------------------------------------------------
# A copy of SRC (bundled config/ or /etc/fail2ban) in which only the page's
# jail runs: the copy's jail.d/, fail2ban.d/ and *.local are dropped (Debian's
# jail.d enables sshd), fail2ban.local keeps socket/pid/log/db in WORK, and
# jail.local is the page's jail (BANTIME, BANACTION, logpath MAILLOG).
build_confdir() { # DEST SRC MAILLOG
    mkdir -p "$1"
    cp -a "$2"/. "$1"/
    rm -rf "$1/jail.d" "$1/fail2ban.d" "$1/jail.local" "$1/fail2ban.local"
    mkdir -p "$1/jail.d" "$1/fail2ban.d"
    sed -e "s|@WORK@|$WORK|g" "$E2E_DIR/templates/fail2ban.local.in" >"$1/fail2ban.local"
    local extra=""
    [ -n "${BLOCKTYPE:-}" ] && extra=", blocktype=$BLOCKTYPE"
    sed -e "s|@MAILLOG@|$3|g" -e "s|@BANTIME@|$BANTIME|g" -e "s|@BANACTION@|$BANACTION|g" -e "s|@ACTION_EXTRA@|$extra|g" \
        "$E2E_DIR/templates/jail-dovecot.local.in" >"$1/jail.local"
}
