#!/usr/bin/env bash
# Installs the Debian packages kcovlab needs on the host, only those missing.
# Needs root (or sudo) the first time; later runs only check.
set -euo pipefail

packages=(
	qemu-system-x86
	clang-22 lld-22 llvm-22
	linux-source-6.12
	make flex bison bc libelf-dev libssl-dev cpio xz-utils git ca-certificates
	chromium
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "host-deps: all ${#packages[@]} packages present"
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
echo "host-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
