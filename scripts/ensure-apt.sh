#!/usr/bin/env bash
# Installs the Debian packages the tests drive (real DHCP/TFTP/NBD clients, QEMU, …), listed
# one per line in scripts/apt/*.txt. As root it installs what is missing; otherwise it stops
# with the one apt-get command that would.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t wanted < <(cat scripts/apt/*.txt 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
[ ${#wanted[@]} -eq 0 ] && exit 0
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "tests need Debian packages: run as root: apt-get update && $cmd" >&2
  exit 1
fi
echo "installing test packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Daemons that packages start by themselves (isc-dhcp-server, tftpd-hpa, dnsmasq, smbd, nbd-server)
# must not grab ports on the host: forbid service starts during the install.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
