#!/usr/bin/env bash
# Runs every ironban test: unit and integration tests of each crate, then the
# compat suites against real fail2ban's outputs in ../shared.
# Installs what the tests need (Debian packages) when run as root; otherwise
# fails naming what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=(fail2ban iptables nftables ipset iproute2 libpcre2-dev)
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-all: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "test-all: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
fi
command -v cargo >/dev/null || { echo "test-all: cargo is missing (install Rust via rustup)" >&2; exit 1; }

if [ -z "${IRONBAN_SHARED:-}" ] && [ ! -d ../shared/golden ]; then
  echo "test-all: ../shared (upstream corpus and goldens) is missing beside the checkout; set IRONBAN_SHARED" >&2
  exit 1
fi

cargo build --workspace --all-targets --release
cargo test --workspace --release

status=0
for suite in $(ls compat-tests/src/bin/ 2>/dev/null | sed -n 's/\.rs$//p' | sort); do
  echo "== compat: $suite"
  cargo run -q --release -p ironban-compat-tests --bin "$suite" || status=1
done
exit $status
