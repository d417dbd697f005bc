#!/usr/bin/env bash
# install-deps.sh - install what sgxemu needs to build and test on Debian 12.
#
# Checks every package with dpkg; only if something is missing does it run
# `apt-get update` once and install the missing ones (no recommends). Quiet
# and idempotent when everything is there. Needs root (or sudo) only then.
#
#   build-essential      gcc, make, libc headers
#   libssl-dev           OpenSSL (libcrypto): the CPU's AES-GCM, SHA-256, RSA
#   clang                the libFuzzer targets (make fuzz)
#   libclang-rt-14-dev   libFuzzer and the sanitizer runtimes for clang 14
#   xz-utils             unpacking linux-source for the Linux SGX selftests
#
# Not needed: pkg-config (the Makefile links -lcrypto directly) and
# ca-certificates (Debian's mirrors are reached over plain http by apt).
set -euo pipefail

PACKAGES=(build-essential libssl-dev clang libclang-rt-14-dev xz-utils)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for p in "${PACKAGES[@]}"; do
	installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	else
		echo "install-deps: missing packages (${missing[*]}) and not root; install them" \
		     "as root: apt-get install ${missing[*]}" >&2
		exit 1
	fi
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq </dev/null
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
