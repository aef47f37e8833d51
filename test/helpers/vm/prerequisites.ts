// Why a VM test cannot run here, or undefined when it can. Tests call t.skip(reason) with it.
import fs from 'node:fs';
import { canUseNetns } from '../netns.ts';
import { haveCommand } from './exec.ts';
import { OVMF } from './qemu.ts';

export function vmSkipReason(opts: { uefi?: boolean; tools?: string[] } = {}): string | undefined {
  if (!canUseNetns()) return 'VM tests need root and ip netns';
  const tools = ['qemu-system-x86_64', 'busybox', 'nbd-client', 'mksquashfs', 'apt-get', 'dpkg', 'radvd', ...(opts.tools ?? [])];
  const missing = tools.filter((t) => !haveCommand(t));
  if (missing.length) return `missing ${missing.join(', ')} (scripts/apt/e2e.txt; scripts/ensure-apt.sh installs them)`;
  if (!fs.existsSync('/dev/net/tun')) return 'no /dev/net/tun for the VM tap';
  if (opts.uefi && !fs.existsSync(OVMF)) return `no ${OVMF} (package ovmf)`;
  return undefined;
}
