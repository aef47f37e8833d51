// Runs one QEMU VM to completion and returns its serial console. TCG only: /dev/kvm on these
// machines is a software PVM under which SeaBIOS+iPXE and OVMF die (see notes/e2e-qemu.md).
// The VM powers itself off (`poweroff -f`, `-no-reboot`) when its test root has printed its
// marker; a hard timeout kills it by PID otherwise.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

export const OVMF = '/usr/share/ovmf/OVMF.fd';

export interface VmOptions {
  /** Namespace that holds the tap (QEMU runs inside it). */
  netns: string;
  tap: string;
  mac: string;
  /** bios: SeaBIOS with the NIC's iPXE option ROM (QEMU's default from ipxe-qemu).
   *  uefi: OVMF with the NIC's ROM removed, so the firmware's own PXE client boots, as on lab PCs. */
  firmware: 'bios' | 'uefi';
  /** Boot a kernel directly instead of from the network (the harness's own check). */
  direct?: { kernel: string; initrd: string; append: string };
  nic?: 'virtio-net-pci' | 'e1000';
  memoryMB?: number;
  timeoutMs: number;
  logFile: string;
  /** Called with console output as it arrives (the demo streams it). */
  onConsole?: (text: string) => void;
  /** Ends the run early when the console so far shows the boot cannot succeed (a retry loop). */
  giveUpWhen?: (consoleSoFar: string) => boolean;
  /** Cancels the run early (the VM is killed by PID). */
  signal?: AbortSignal;
}

export interface VmResult {
  console: string;
  gaveUp: boolean;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
}

export function qemuArgs(o: VmOptions): string[] {
  const nic = o.nic ?? 'virtio-net-pci';
  // romfile= (empty) removes the iPXE ROM: OVMF's VirtioNetDxe and PXE client drive the NIC.
  const rom = o.firmware === 'uefi' ? ',romfile=' : '';
  const args = [
    'qemu-system-x86_64', '-accel', 'tcg', '-machine', 'pc', '-m', String(o.memoryMB ?? 512), '-smp', '1',
    '-nographic', '-serial', `file:${o.logFile}`, '-monitor', 'none', '-no-reboot',
    '-netdev', `tap,id=n0,ifname=${o.tap},script=no,downscript=no`,
    '-device', `${nic},netdev=n0,mac=${o.mac}${rom}${o.direct ? '' : ',bootindex=1'}`,
  ];
  if (o.firmware === 'uefi') args.push('-bios', OVMF);
  if (o.direct) args.push('-kernel', o.direct.kernel, '-initrd', o.direct.initrd, '-append', o.direct.append);
  return args;
}

export function runVm(o: VmOptions): Promise<VmResult> {
  fs.writeFileSync(o.logFile, '');
  const started = Date.now();
  // coreutils timeout as a watchdog that outlives us: a test process killed outright (SIGKILL,
  // runner timeout) must not leave a VM looping in iPXE's retry script forever.
  const watchdog = ['timeout', '-s', 'KILL', String(Math.ceil(o.timeoutMs / 1000) + 10)];
  const argv = ['ip', 'netns', 'exec', o.netns, ...watchdog, ...qemuArgs(o)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const kill = () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
  };
  // A test process that dies must not leave a VM running.
  process.once('exit', kill);
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; kill(); }, o.timeoutMs);
  const onAbort = () => kill();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let offset = 0;
  let seen = '';
  let gaveUp = false;
  const pump = () => {
    if (!o.onConsole && !o.giveUpWhen) return;
    let fd: number | undefined;
    try {
      fd = fs.openSync(o.logFile, 'r');
      const size = fs.fstatSync(fd).size;
      if (size > offset) {
        const buf = Buffer.alloc(size - offset);
        fs.readSync(fd, buf, 0, buf.length, offset);
        offset = size;
        const text = buf.toString('utf8');
        o.onConsole?.(text);
        if (o.giveUpWhen) {
          seen += text;
          if (!gaveUp && o.giveUpWhen(seen)) { gaveUp = true; kill(); }
        }
      }
    } catch { /* not there yet */ } finally { if (fd !== undefined) fs.closeSync(fd); }
  };
  const poller = o.onConsole || o.giveUpWhen ? setInterval(pump, 200) : undefined;
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      if (poller) clearInterval(poller);
      pump();
      process.removeListener('exit', kill);
      o.signal?.removeEventListener('abort', onAbort);
      let text = '';
      try { text = fs.readFileSync(o.logFile, 'utf8'); } catch { /* no log */ }
      if (stderr.trim()) text += `\n[qemu stderr] ${stderr.trim()}\n`;
      resolve({ console: text, gaveUp, exitCode: code, timedOut, durationMs: Date.now() - started });
    });
  });
}

/** Strips the ANSI escapes firmware and iPXE paint the console with, so tests can match text. */
export function plainConsole(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1bc/g, '').replace(/\r/g, '');
}
