// The 16 desktops of the branch: each one a shell process in the branch namespace running the
// real clients a boot uses (curl as iPXE and live-boot fetch=, httpfs2 + unsquashfs as live-boot
// httpfs=, casync), with the URLs its boot plan hands it. No HTTP code of ours in the data path.

/** Reads the machine's iPXE script from central (scripts always come from central: src/boot/endpoints.ts). */
const PLAN = `
script=$(curl -sSf "$CENTRAL/boot/$MAC.ipxe")
kernel=$(printf '%s\\n' "$script" | sed -n 's/^kernel \\([^ ]*\\) .*/\\1/p')
initrd=$(printf '%s\\n' "$script" | sed -n 's/^initrd --name initrd.img \\([^ ]*\\).*/\\1/p')
arg() { printf '%s\\n' "$script" | tr ' ' '\\n' | sed -n "s/^$1=//p" | head -n 1; }
[ -n "$kernel" ] && [ -n "$initrd" ] || { echo "no kernel/initrd in the plan: $script" >&2; exit 1; }
get() { curl -sSf -o /dev/null -w '%{size_download}\\n' "$1"; }
`;

export type Scenario = 'whole' | 'lazy' | 'casync' | 'update';

export const SCRIPTS: Record<Scenario, string> = {
  // iPXE loads kernel and initrd; the initramfs (casper url=, live-boot fetch=) then fetches the
  // whole root into RAM. Prints the three sizes.
  whole: `set -eu${PLAN}
root=$(arg fetch)
[ -n "$root" ] || { echo "no fetch= in the plan" >&2; exit 1; }
get "$kernel"; get "$initrd"; get "$root"
`,
  // live-boot httpfs=: httpfs2 mounts the image URL, every read a Range GET; the boot's working
  // set is read through it (unsquashfs of the files in $LIST, with the metadata that needs).
  lazy: `set -eu${PLAN}
root=$(arg httpfs)
[ -n "$root" ] || { echo "no httpfs= in the plan" >&2; exit 1; }
get "$kernel"; get "$initrd"
mkdir -p "$OUT/mnt"
httpfs2 -f -c /dev/null -t 60 "$root" "$OUT/mnt" -o ro 2>"$OUT/httpfs2.err" &
i=0
until [ -f "$OUT/mnt/\${root##*/}" ]; do sleep 0.1; i=$((i + 1)); [ $i -lt 600 ] || { cat "$OUT/httpfs2.err" >&2; exit 1; }; done
unsquashfs -no-progress -q -d "$OUT/x" -ef "$LIST" "$OUT/mnt/\${root##*/}" >/dev/null
du -sb "$OUT/x" | cut -f1
umount -l "$OUT/mnt"
wait
`,
  // casync extract of the version's index from the branch's HTTP server (what a client that keeps
  // a local copy would run).
  casync: `set -eu
casync extract "$BASE/images/lab/1.caibx" "$OUT/img"
`,
  // The update: version 2, with yesterday's version 1 as the seed.
  update: `set -eu
casync extract --seed="$SEED" "$BASE/images/lab/2.caibx" "$OUT/img2"
`,
};
