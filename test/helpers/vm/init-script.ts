// The /init of the test initramfs: a stand-in for the real initramfs flavors
// (initramfs-tools' nbd script, live-boot's fetch=, dracut's root=live: / root=nbd:) that
// reads the same kernel command line arguments the planner writes, brings the NIC up with
// udhcpc, attaches the root over NBD or fetches it over HTTP, overlays a tmpfs and
// switch_roots. Every step prints a "bbtest:" line on the serial console; any failure prints
// "BBTEST-FAIL: why" and powers off at once, so a broken boot ends in seconds, not at the timeout.
export const INIT_MARKERS = {
  fail: 'BBTEST-FAIL:',
  cmdline: 'BBTEST-INITRD-CMDLINE:',
  rootSource: 'BBTEST-ROOT-SOURCE:',
} as const;

export const UDHCPC_SCRIPT = `#!/bin/sh
# busybox udhcpc calls this with the lease in the environment (mask is a prefix length).
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/\${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then ip route add default via "\${router%% *}" dev "$interface"; fi
    echo "bbtest: lease $ip/\${mask:-24} router=\${router:-none} server=\${serverid:-?}"
    ;;
esac
exit 0
`;

export const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /newroot /ro /rw /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "bbtest: $*"; }
fail() { echo "${INIT_MARKERS.fail} $*"; sync; sleep 1; poweroff -f; }
say "initramfs up, kernel $(uname -r)"
while read -r m; do insmod "/lib/modules/$m" || say "insmod $m failed"; done < /lib/modules/load.order

CMDLINE="$(cat /proc/cmdline)"
echo "${INIT_MARKERS.cmdline} $CMDLINE"
ROOT=; NBDROOT=; NBDPORT=; HTTPROOT=; BOOTIF=
for arg in $CMDLINE; do
  case "$arg" in
    root=*) ROOT="\${arg#root=}" ;;
    nbdroot=*) NBDROOT="\${arg#nbdroot=}" ;;
    netroot=nbd:*) NBDROOT="$(echo "\${arg#netroot=nbd:}" | cut -d: -f1,2 | tr : ,)" ;;
    fetch=*) HTTPROOT="\${arg#fetch=}" ;;
    httpfs=*) HTTPROOT="\${arg#httpfs=}" ;;
    url=*) HTTPROOT="\${arg#url=}" ;;
    BOOTIF=*) BOOTIF="\${arg#BOOTIF=}" ;;
  esac
done
case "$ROOT" in
  live:http*) HTTPROOT="\${ROOT#live:}" ;;
  nbd:*) NBDROOT="$(echo "\${ROOT#nbd:}" | tr : ,)" ;;
esac
[ -n "$NBDROOT$HTTPROOT" ] || fail "no root transport on the command line (nbdroot=, root=nbd:, fetch=, url=, httpfs=, root=live:)"

# BOOTIF=01-aa-bb-cc-dd-ee-ff names the NIC the firmware booted from (pxelinux/iPXE convention).
WANTMAC=
[ -n "$BOOTIF" ] && WANTMAC="$(echo "\${BOOTIF#01-}" | tr - : | tr A-F a-f)"
IF=
i=0
while [ $i -lt 100 ]; do
  for d in /sys/class/net/*; do
    n="\${d##*/}"; [ "$n" = lo ] && continue
    if [ -z "$WANTMAC" ] || [ "$(cat "$d/address")" = "$WANTMAC" ]; then IF="$n"; break; fi
  done
  [ -n "$IF" ] && break
  sleep 0.1; i=$((i+1))
done
[ -n "$IF" ] || fail "no network interface\${WANTMAC:+ with MAC $WANTMAC}"
ip link set lo up
ip link set "$IF" up
say "dhcp on $IF ($(cat /sys/class/net/$IF/address))"
udhcpc -i "$IF" -f -q -n -t 10 -T 2 -s /etc/udhcpc.script 2>/dev/null || fail "udhcpc got no lease on $IF"
ip -4 addr show dev "$IF" | grep -q inet || fail "udhcpc ended without an address on $IF"

if [ -n "$NBDROOT" ]; then
  # initramfs-tools: nbdroot=SERVER,PORT_OR_EXPORT,DEVICE (a number is a port, else an export
  # name) or SERVER:PORT/EXPORT; dracut: netroot=nbd:SERVER:PORT_OR_EXPORT (rewritten above).
  case "$NBDROOT" in
    *,*) ;;
    *:*/*) H="\${NBDROOT%%/*}"; NBDROOT="\${H%%:*},\${NBDROOT#*/},nbd0"; NBDPORT="\${H#*:}" ;;
  esac
  SRV="\${NBDROOT%%,*}"; REST="\${NBDROOT#*,}"
  [ "$REST" = "$NBDROOT" ] && REST=
  EXP="\${REST%%,*}"; DEV="\${REST#*,}"
  [ "$DEV" = "$REST" ] && DEV=nbd0
  DEV="\${DEV#/dev/}"
  case "$EXP" in
    '') set -- "$SRV" 10809 ;;
    *[!0-9]*) set -- -N "$EXP" "$SRV" \${NBDPORT:-10809} ;;
    *) set -- "$SRV" "$EXP" ;;
  esac
  say "nbd-client $* /dev/$DEV"
  nbd-client "$@" "/dev/$DEV" -readonly || nbd-client "$@" "/dev/$DEV" -readonly -nonetlink || fail "nbd-client $* failed"
  i=0
  while [ "$(cat /sys/block/$DEV/size 2>/dev/null || echo 0)" = 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  [ "$(cat /sys/block/$DEV/size 2>/dev/null || echo 0)" != 0 ] || fail "/dev/$DEV stayed empty"
  echo "${INIT_MARKERS.rootSource} nbd $SRV \${EXP:-10809} /dev/$DEV $(($(cat /sys/block/$DEV/size) * 512)) bytes"
  mount -t squashfs -o ro "/dev/$DEV" /ro || fail "cannot mount /dev/$DEV as squashfs"
else
  say "fetching $HTTPROOT"
  wget -q -O /run/root.img "$HTTPROOT" || fail "wget $HTTPROOT failed"
  echo "${INIT_MARKERS.rootSource} http $HTTPROOT $(stat -c %s /run/root.img) bytes"
  mount -t squashfs -o loop,ro /run/root.img /ro || fail "cannot mount the fetched image as squashfs"
fi

mount -t tmpfs -o size=64m tmpfs /rw || fail "tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/ro,upperdir=/rw/upper,workdir=/rw/work /newroot || fail "overlay mount failed"
[ -x /newroot/sbin/init ] || fail "the root image has no /sbin/init"
mkdir -p /newroot/proc /newroot/sys /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
say "switch_root"
exec switch_root /newroot /sbin/init
`;

/** /sbin/init of the test root image: prints its marker and the command line, then powers off. */
export function rootInitScript(marker: string): string {
  return `#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc 2>/dev/null
echo "BBTEST-MARKER: ${marker}"
echo "BBTEST-CMDLINE: $($B cat /proc/cmdline)"
$B sync
$B poweroff -f
`;
}

