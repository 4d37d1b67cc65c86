#!/usr/bin/env bash
# Builds ironban's .deb and checks it the way an administrator meets it
# (docs/packaging.md): its contents and control fields; installed in place of
# Debian's fail2ban (dpkg refuses while fail2ban is installed, apt replaces
# it keeping /etc/fail2ban); the fail2ban-* names are links to ironban and
# behave as it (compared with real fail2ban's answers recorded before the
# switch); unit, tmpfiles, man pages and completions where Debian looks for
# them; purged cleanly; then, as on a machine that never had fail2ban, the
# seeded /etc/fail2ban and its purge; and Debian's fail2ban back as it was.
#
# Needs root (it installs packages). A trap puts Debian's fail2ban back (from
# a copy of its .deb kept before anything is removed) whatever happens.
#
# Usage: scripts/check-deb.sh [--profile PROFILE] [--no-build]
#   --profile: the cargo profile whose binary is packaged (default ci, the
#              test suite's; `release` for a real package)
#   --no-build: package the binary already built for that profile
# Prints one line per check and ends with `deb: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

profile=ci
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "usage: $0 [--profile PROFILE] [--no-build]" >&2; exit 2 ;;
  esac
done

pass=0
fail=0
check() { # check NAME COMMAND...: runs COMMAND, counts and prints the verdict
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then
    pass=$((pass + 1)); echo "deb: ok   $name"
  else
    fail=$((fail + 1)); echo "deb: FAIL $name"
  fi
}
finish() {
  echo "deb: $pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit $?
}

if [ "$(id -u)" != 0 ]; then
  echo "check-deb: needs root (it installs and removes packages)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# cargo-deb: installed once per machine (~3 minutes), kept in ~/.cargo/bin.
if ! cargo deb --version >/dev/null 2>&1; then
  echo "check-deb: installing cargo-deb (once per machine)"
  if ! cargo install -q --locked cargo-deb --version '^3.8'; then
    echo "check-deb: cargo-deb could not be installed; the .deb is not checked (skipped)"
    exit 0
  fi
fi

# A run killed without its trap leaves one of these; never guess over it.
if dpkg-query -W -f='${Status}' ironban 2>/dev/null | grep -q ' ok installed\|config-files'; then
  echo "check-deb: the ironban package is already on this machine; remove it first (dpkg --purge ironban)" >&2
  exit 1
fi
if [ -e /etc/fail2ban.check-deb ] || [ -e /etc/logrotate.d/fail2ban.check-deb ]; then
  echo "check-deb: /etc/fail2ban.check-deb or /etc/logrotate.d/fail2ban.check-deb is left from an interrupted run; move it back first" >&2
  exit 1
fi

tmp=$(mktemp -d /tmp/ironban-check-deb.XXXXXX)
target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

# ---- build and inspect -----------------------------------------------------
if [ "$build" = 1 ]; then
  cargo build -q --profile "$profile" -p ironban-cli || { echo "check-deb: build failed" >&2; exit 1; }
fi
if ! cargo deb -q -p ironban-cli --profile "$profile" --no-build --fast -o "$tmp/" >"$tmp/cargo-deb.log" 2>&1; then
  cat "$tmp/cargo-deb.log"
  check "cargo deb builds the package" false
  finish
fi
deb=$(ls "$tmp"/ironban_*.deb)
echo "check-deb: built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) from $target_dir/$profile/ironban"
check "cargo deb builds the package" test -s "$deb"
dpkg-deb -I "$deb" >"$tmp/info"
dpkg-deb -c "$deb" | awk '{ $1=$2=$3=$4=$5=""; sub(/^ +/, ""); print }' >"$tmp/contents"
field() { grep -q "^ $1: $2\$" "$tmp/info"; }
check "control: Package ironban" field Package ironban
check "control: Conflicts/Replaces/Provides fail2ban" \
  bash -c "grep -q '^ Conflicts: fail2ban\$' $tmp/info && grep -q '^ Replaces: fail2ban\$' $tmp/info && grep -q '^ Provides: fail2ban\$' $tmp/info"
check "control: Depends found by \$auto (libc6)" grep -q '^ Depends: .*libc6' "$tmp/info"
check "control: Recommends libsystemd0 (dlopen'ed by the journal backend)" grep -q '^ Recommends: .*libsystemd0' "$tmp/info"
has() { grep -qxF "$1" "$tmp/contents"; }
check "contents: /usr/bin/ironban" has ./usr/bin/ironban
for n in fail2ban-client fail2ban-server fail2ban-regex; do
  check "contents: /usr/bin/$n -> ironban" has "./usr/bin/$n -> ironban"
done
check "contents: systemd unit" has ./usr/lib/systemd/system/ironban.service
check "contents: tmpfiles entry" has ./usr/lib/tmpfiles.d/ironban.conf
check "contents: logrotate entry (installed by postinst)" has ./usr/share/ironban/logrotate
check "contents: bundled config" has ./usr/share/ironban/config/jail.conf
man_ok=1
for p in ironban ironban-check fail2ban-client fail2ban-server fail2ban-regex; do
  grep -qE "^\./usr/share/man/man1/$p\.1(\.gz)?\$" "$tmp/contents" || man_ok=0
done
check "contents: the 5 man pages in man1" test $man_ok = 1
check "contents: bash completions" has ./usr/share/bash-completion/completions/fail2ban-client
check "contents: zsh completions" has ./usr/share/zsh/vendor-completions/_fail2ban-client
check "contents: fish completions" has ./usr/share/fish/vendor_completions.d/fail2ban-client.fish
check "contents: nothing under /etc (config is the administrator's)" bash -c "! grep -q '^\./etc/.' $tmp/contents"
if command -v lintian >/dev/null; then
  lintian "$deb" >"$tmp/lintian" 2>&1
  check "lintian: no error" bash -c "! grep -q '^E:' $tmp/lintian"
  grep '^[EW]:' "$tmp/lintian"
fi
dpkg-deb -e "$deb" "$tmp/control"
check "maintainer scripts: enable the unit with deb-systemd-helper" grep -q 'deb-systemd-helper enable' "$tmp/control/postinst"
check "maintainer scripts: sh -n" bash -c "sh -n $tmp/control/postinst && sh -n $tmp/control/postrm && sh -n $tmp/control/prerm"

# ---- the machine's state, and the trap that restores it --------------------
had_f2b=0
dpkg-query -W -f='${Status}' fail2ban 2>/dev/null | grep -q 'install ok installed' && had_f2b=1
f2b_deb=""
if [ "$had_f2b" = 1 ]; then
  # A copy of fail2ban's package, kept before anything is removed, so that
  # it can be put back without the network.
  mkdir -p "$tmp/keep"
  v=$(dpkg-query -W -f='${Version}' fail2ban)
  get() { (cd "$tmp/keep" && chown _apt . 2>/dev/null; apt-get download -q "fail2ban=$v") >/dev/null 2>&1; }
  get || { apt-get update -qq >/dev/null 2>&1; get; }
  f2b_deb=$(ls "$tmp"/keep/fail2ban_*.deb 2>/dev/null | head -n 1)
  if [ -z "$f2b_deb" ]; then
    check "a copy of Debian's fail2ban package is kept before replacing it" false
    echo "check-deb: without it the machine could be left without fail2ban; not installing"
    rm -rf "$tmp"
    finish
  fi
  # Real fail2ban's answers on this machine, to compare the links with.
  fail2ban-client -c /etc/fail2ban -d >"$tmp/real-dump" 2>/dev/null
  echo "real rc $?" >>"$tmp/real-dump"
  fail2ban-client -c "$repo/config" -d >"$tmp/real-fresh-dump" 2>/dev/null
  echo "real rc $?" >>"$tmp/real-fresh-dump"
  md5sum /etc/fail2ban/jail.conf /etc/fail2ban/fail2ban.conf >"$tmp/etc.md5"
fi
own_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  # No service is started by the installs here (Debian's fail2ban would be,
  # through its init script, on a machine without systemd).
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  own_policy=1
fi
restore() {
  local st
  st=$(dpkg-query -W -f='${Status}' ironban 2>/dev/null)
  [ -n "$st" ] && [ "$st" != "unknown ok not-installed" ] && dpkg --purge ironban >/dev/null 2>&1
  if [ -d /etc/fail2ban.check-deb ]; then
    rm -rf /etc/fail2ban
    mv /etc/fail2ban.check-deb /etc/fail2ban
  fi
  [ -e /etc/logrotate.d/fail2ban.check-deb ] && mv /etc/logrotate.d/fail2ban.check-deb /etc/logrotate.d/fail2ban
  if [ "$had_f2b" = 1 ] && ! dpkg-query -W -f='${Status}' fail2ban 2>/dev/null | grep -q 'install ok installed'; then
    dpkg -i "$f2b_deb" >/dev/null 2>&1 || apt-get install -y -qq fail2ban >/dev/null 2>&1 ||
      echo "check-deb: could not reinstall Debian's fail2ban: run apt-get install fail2ban" >&2
  fi
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  rm -rf "$tmp"
}
trap restore EXIT
trap 'exit 130' INT TERM

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "$2"; }
links_ok() {
  for n in fail2ban-client fail2ban-server fail2ban-regex; do
    [ "$(readlink "/usr/bin/$n")" = ironban ] || return 1
    [ "$(head -c 4 "/usr/bin/$n")" = $'\x7fELF' ] || return 1
    dpkg -S "/usr/bin/$n" | grep -q '^ironban:' || return 1
  done
}

# ---- installed over Debian's fail2ban -------------------------------------
if [ "$had_f2b" = 1 ]; then
  # dpkg removes a package that the one it installs both Conflicts with and
  # Replaces, as `apt install ./ironban….deb` does.
  dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1
  check "dpkg -i ironban.deb over fail2ban installs it" installed ironban 'install ok installed'
  check "... removing fail2ban, keeping its configuration (config-files)" installed fail2ban ' ok config-files'
  check "/etc/fail2ban unchanged" md5sum --quiet -c "$tmp/etc.md5"
  check "nothing seeded over an existing /etc/fail2ban" bash -c "! test -s /var/lib/ironban/seeded.md5sums"
  check "fail2ban's logrotate entry left alone, no second one" \
    bash -c "test -e /etc/logrotate.d/fail2ban && ! test -e /etc/logrotate.d/ironban"
  check "fail2ban-client/-server/-regex are ironban's links" links_ok
  # Behaviour: the dump of this machine's /etc/fail2ban is real fail2ban's,
  # but for the one 1.0.2/1.1.2 difference docs/migration.md names: a jail on
  # `backend = auto` whose log file does not exist but that has a
  # journalmatch is switched to `systemd` by 1.1.2, as by ironban.
  fail2ban-client -c /etc/fail2ban -d >"$tmp/our-dump" 2>/dev/null
  echo "real rc $?" >>"$tmp/our-dump"
  backend() { sed -E "s/^\['add', '([^']*)', '(auto|systemd)'\]\$/['add', '\1', <auto or systemd>]/" "$1"; }
  check "fail2ban-client -d on /etc/fail2ban: real fail2ban's stream" \
    cmp -s <(backend "$tmp/real-dump") <(backend "$tmp/our-dump")
  cmp -s <(backend "$tmp/real-dump") <(backend "$tmp/our-dump") ||
    diff <(backend "$tmp/real-dump") <(backend "$tmp/our-dump") | head -n 10
  switched=$(diff "$tmp/real-dump" "$tmp/our-dump" | sed -n "s/^> \['add', '\([^']*\)', 'systemd'\]\$/\1/p" | tr '\n' ' ')
  [ -n "$switched" ] && echo "check-deb: switched to the journal as by fail2ban 1.1.2: $switched"
fi
if ! installed ironban 'install ok installed'; then
  dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1
  check "dpkg -i ironban.deb (no fail2ban installed)" installed ironban 'install ok installed'
  check "fail2ban-client/-server/-regex are ironban's links" links_ok
fi
check "fail2ban-client --version is ironban's client" bash -c "fail2ban-client --version | grep -q '^Fail2Ban v.* (ironban '"
line='2026-11-25 10:00:00 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2'
check "fail2ban-regex matches an sshd failure with the installed sshd filter" \
  bash -c "fail2ban-regex '$line' /etc/fail2ban/filter.d/sshd.conf | grep -q 'Lines: 1 lines, 0 ignored, 1 matched, 0 missed'"
# The README's main job through the installed names and bundled example.
ex=/usr/share/ironban/config/examples/confdir
sock=$tmp/ex.sock
fail2ban-server -f -x -c "$ex" -s "$sock" -p "$tmp/ex.pid" start >"$tmp/ex.log" 2>&1 &
srv=$!
for _ in $(seq 50); do fail2ban-client -c "$ex" -s "$sock" ping >/dev/null 2>&1 && break; sleep 0.2; done
banned=""
for _ in $(seq 50); do
  banned=$(fail2ban-client -c "$ex" -s "$sock" banned 2>/dev/null)
  [ "$banned" = "$(cat "$repo/config/examples/expected-banned.txt")" ] && break
  sleep 0.3
done
check "fail2ban-server + fail2ban-client on the bundled example: real fail2ban's bans" \
  test "$banned" = "$(cat "$repo/config/examples/expected-banned.txt")"
fail2ban-client -s "$sock" stop >/dev/null 2>&1
for _ in $(seq 50); do kill -0 $srv 2>/dev/null || break; sleep 0.1; done
kill $srv 2>/dev/null
wait $srv 2>/dev/null
check "systemd-analyze verify accepts the unit" systemd-analyze verify /usr/lib/systemd/system/ironban.service
check "the unit is enabled (multi-user.target.wants)" test -L /etc/systemd/system/multi-user.target.wants/ironban.service
check "/run/fail2ban exists (tmpfiles)" test -d /run/fail2ban
man_ok=1
for p in ironban ironban-check fail2ban-client fail2ban-server fail2ban-regex; do
  f=$(man -w "$p" 2>/dev/null) && dpkg -S "$f" 2>/dev/null | grep -q '^ironban:' || man_ok=0
done
check "man -w finds ironban's 5 pages" test $man_ok = 1
check "bash-completion loads fail2ban-client's completion" bash -c \
  ". /usr/share/bash-completion/completions/fail2ban-client && complete -p fail2ban-client"

# ---- purge -----------------------------------------------------------------
dpkg --purge ironban >"$tmp/purge.log" 2>&1
check "dpkg --purge ironban" bash -c "! dpkg-query -W -f='\${Status}' ironban 2>/dev/null | grep -q ' ok installed\|config-files'"
gone=1
for f in /usr/bin/ironban /usr/bin/fail2ban-client /usr/bin/fail2ban-server /usr/bin/fail2ban-regex \
  /usr/lib/systemd/system/ironban.service /etc/systemd/system/multi-user.target.wants/ironban.service \
  /usr/share/ironban /var/lib/ironban; do
  { [ -e "$f" ] || [ -L "$f" ]; } && { echo "check-deb: left behind: $f"; gone=0; }
done
check "purge leaves no ironban file, link or enablement behind" test $gone = 1
if [ "$had_f2b" = 1 ]; then
  check "purge leaves fail2ban's /etc/fail2ban as it was" md5sum --quiet -c "$tmp/etc.md5"
fi

# ---- a machine that never had fail2ban: the seeded /etc/fail2ban ----------
[ -d /etc/fail2ban ] && mv /etc/fail2ban /etc/fail2ban.check-deb
[ -e /etc/logrotate.d/fail2ban ] && mv /etc/logrotate.d/fail2ban /etc/logrotate.d/fail2ban.check-deb
dpkg -i "$deb" >"$tmp/dpkg2.log" 2>&1
check "fresh machine: dpkg -i ironban.deb" installed ironban 'install ok installed'
check "fresh machine: /etc/fail2ban seeded with the bundled config" \
  bash -c "diff -r -x examples /usr/share/ironban/config /etc/fail2ban"
check "fresh machine: /etc/logrotate.d/ironban installed" cmp -s /usr/share/ironban/logrotate /etc/logrotate.d/ironban
if command -v logrotate >/dev/null; then
  check "fresh machine: logrotate -d accepts it" logrotate -d /etc/logrotate.d/ironban
fi
fail2ban-client -c /etc/fail2ban -d >"$tmp/fresh-dump" 2>/dev/null
echo "real rc $?" >>"$tmp/fresh-dump"
if [ "$had_f2b" = 1 ]; then
  check "fresh machine: fail2ban-client -d of the seeded config is real fail2ban's of config/" \
    cmp -s "$tmp/real-fresh-dump" "$tmp/fresh-dump"
else
  check "fresh machine: fail2ban-client -d reads the seeded config" grep -qx 'real rc 0' "$tmp/fresh-dump"
fi
echo '# changed by check-deb' >>/etc/fail2ban/paths-fedora.conf
dpkg -r ironban >"$tmp/remove.log" 2>&1
check "fresh machine: dpkg -r keeps /etc/fail2ban, drops the logrotate entry" \
  bash -c "test -e /etc/fail2ban/jail.conf && ! test -e /etc/logrotate.d/ironban"
dpkg --purge ironban >"$tmp/purge2.log" 2>&1
check "fresh machine: purge keeps only the file changed since (and says so)" bash -c \
  "grep -q 'keeping /etc/fail2ban/paths-fedora.conf' $tmp/purge2.log && test \"\$(find /etc/fail2ban -type f)\" = /etc/fail2ban/paths-fedora.conf"
rm -rf /etc/fail2ban

# ---- Debian's fail2ban back -------------------------------------------------
restore_ok=1
trap - EXIT
restore
if [ "$had_f2b" = 1 ]; then
  installed fail2ban 'install ok installed' || restore_ok=0
  head -n 1 /usr/bin/fail2ban-client | grep -q python || restore_ok=0
  check "Debian's fail2ban is back (its python fail2ban-client)" test $restore_ok = 1
  check "fail2ban-client --version is Debian's again" bash -c "fail2ban-client --version | grep -q '^Fail2Ban v1\\.0\\.'"
fi
finish
