#!/usr/bin/env bash
# Every e2e scenario of issue #8 against one server:
#   A with iptables-multiport, A with nftables-multiport, A with the page's
#   blocktype=DROP, and B (the page's own filter).
#   compat-tests/e2e/run-all.sh --server fail2ban|ironban [--ironban-bin PATH] [--confdir DIR] [--bantime N]
# Extra options are passed to every scenario. Prints each scenario's PASS/FAIL
# lines and ends with "e2e: N passed, N failed"; exit 0 only if all passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp /tmp/ib-e2e-all.XXXXXX)
trap 'rm -f "$out"' EXIT
passed=0 failed=0
run() { # NAME CMD...
    local name=$1; shift
    printf '\n##### %s\n' "$name"
    "$@" 2>&1 | tee "$out" | grep -E '^(PASS|FAIL|e2e_)'
    local line p f
    line=$(grep -E '^e2e_[a-z_]+: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p'); f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
    [ -n "$line" ] || { p=0; f=1; echo "($name ended without a tally)"; }
    passed=$((passed + p)); failed=$((failed + f))
}
run "A: iptables-multiport" "$here/dovecot.sh" "$@"
run "A: nftables-multiport" "$here/dovecot.sh" --banaction nftables-multiport "$@"
run "A: iptables-multiport, blocktype=DROP" "$here/dovecot.sh" --blocktype DROP "$@"
run "B: the page's filter" "$here/page-filter.sh" "$@"
echo
echo "e2e: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
