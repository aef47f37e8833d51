// One end-to-end VM scenario from the outside in, the way an admin sets it up: a namespace
// with a bridge, `branchboot apply` of an inventory, `branchboot image import` of the test
// root, `branchboot serve` on the bridge, then real VMs booting from it. Pieces that have not
// landed yet (a service still a stub, a missing CLI command) turn into a NotReady with a
// reason the test passes to t.skip(); everything else that goes wrong fails the test.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { artifactDir } from './artifacts.ts';
import { createBranchboot, type BranchbootServer, type ServeOptions } from './branchboot.ts';
import { readBootOutcome, type BootOutcome } from './console.ts';
import { buildInitramfs, type Initramfs } from './initramfs.ts';
import { ensureKernel, type Kernel } from './kernel.ts';
import { runVm, type VmResult } from './qemu.ts';
import { buildRootImage } from './rootimage.ts';
import { createVmNet, type VmNet } from './vmnet.ts';

export class NotReady extends Error {}

/** BBTEST_E2E_FORCE=1: boot even when a precheck says a piece is missing (to see how far it gets). */
const FORCE = process.env.BBTEST_E2E_FORCE === '1';

export interface ImageToImport {
  name: string;
  marker: string;
  flavor: string;
}

export interface VmSpec {
  name: string;
  mac: string;
  firmware: 'bios' | 'uefi';
  timeoutMs?: number;
  onConsole?: (text: string) => void;
}

export interface Scenario {
  out: string;
  vn: VmNet;
  bb: BranchbootServer;
  kernel: Kernel;
  initrd: Initramfs;
  /** Writes the inventory and runs `branchboot apply` on it. */
  apply(inventory: unknown): void;
  /** Builds the root squashfs with its marker and runs `branchboot image import`. */
  importImage(img: ImageToImport): Promise<void>;
  /** `branchboot serve`, then checks the services the case needs are real (not stubs). */
  serve(needs: ('dhcp' | 'tftp' | 'nbd')[]): Promise<void>;
  /** The iPXE script branchboot hands this MAC, or NotReady while the planner is a stub. */
  ipxeScript(mac: string): string;
  boot(vm: VmSpec): Promise<{ result: VmResult; outcome: BootOutcome }>;
  destroy(): Promise<void>;
}

export const SERVICE_OWNERS: Record<string, string> = {
  dhcp: 'the DHCP server (src/dhcp)',
  tftp: 'the TFTP server (src/tftp)',
  nbd: 'the NBD server (src/nbd)',
};

export async function createScenario(name: string, serve: ServeOptions = {}): Promise<Scenario> {
  const out = artifactDir(name);
  const kernel = await ensureKernel();
  const initrd = await buildInitramfs(kernel);
  const vn = await createVmNet();
  const bb = createBranchboot(vn, out, serve);
  return {
    out, vn, bb, kernel, initrd,
    apply(inventory) {
      const file = path.join(out, 'inventory.yaml');
      fs.writeFileSync(file, YAML.stringify(inventory));
      bb.cliOk(['apply', file]);
    },
    async importImage(img) {
      const root = await buildRootImage({ marker: img.marker });
      const r = bb.cli(['image', 'import', root, '--name', img.name, '--flavor', img.flavor, '--kernel', kernel.vmlinuz, '--initrd', initrd.path], 300_000);
      if (r.code !== 0) {
        const text = `${r.stdout}${r.stderr}`;
        if (/unknown command|Cannot find module|ERR_MODULE_NOT_FOUND|is not a function/.test(text)) {
          throw new NotReady('waiting for `branchboot image import` (src/cli/image.ts)');
        }
        throw new Error(`branchboot image import ${img.name} exited ${r.code}:\n${text}`);
      }
    },
    async serve(needs) {
      await bb.start();
      const h = bb.get('/healthz');
      let services: Record<string, { state?: string; detail?: string }> = {};
      try { services = (JSON.parse(h.body) as { services?: typeof services }).services ?? {}; } catch { /* checked below */ }
      for (const s of needs) {
        const state = services[s]?.state;
        if (state === 'running') continue;
        if (state === 'disabled' || state === undefined) throw new NotReady(`waiting for ${SERVICE_OWNERS[s]}: /healthz says ${s} is ${state ?? 'absent'} although enabled`);
        throw new Error(`${s} is ${state}: ${JSON.stringify(services[s])}\n${bb.output().slice(-3000)}`);
      }
    },
    ipxeScript(mac) {
      const r = bb.get(`/boot/${mac}.ipxe`);
      fs.writeFileSync(path.join(out, `${mac.replace(/:/g, '-')}.ipxe`), r.body);
      if (r.status === 404 || r.status === 501 || !/^#!ipxe/.test(r.body) || !/^\s*kernel\s/m.test(r.body)) {
        if (r.status >= 500 && r.status !== 501) throw new Error(`/boot/${mac}.ipxe: HTTP ${r.status}: ${r.body}`);
        throw new NotReady(`waiting for the boot planner (/boot/:mac.ipxe answers ${r.status} without a kernel line)`);
      }
      // The files the script and the command line point at must be there before a VM waits
      // on them: a 404 means the store's HTTP routes have not landed (or lost a file).
      const urls = [...r.body.matchAll(/^\s*(?:kernel|initrd)\b.*?(https?:\/\/\S+)/gm)].map((m) => m[1]!);
      const fetchArg = /\b(?:fetch|url|httpfs)=(http:\/\/\S+)|root=live:(http:\/\/\S+)/.exec(r.body);
      if (fetchArg) urls.push((fetchArg[1] ?? fetchArg[2])!);
      for (const u of urls) {
        const st = bb.status(u);
        if ((st === 404 || st === 501) && !FORCE) throw new NotReady(`waiting for the block store HTTP routes: ${u} answers ${st}`);
        if (st !== 200 && !FORCE) throw new Error(`${u} answers HTTP ${st} (script for ${mac})`);
      }
      return r.body;
    },
    async boot(vm) {
      const result = await runVm({
        netns: vn.switchNs, tap: vn.addTap(), mac: vm.mac, firmware: vm.firmware,
        timeoutMs: vm.timeoutMs ?? 180_000, logFile: path.join(out, `${vm.name}.console.log`),
        ...(vm.onConsole ? { onConsole: vm.onConsole } : {}),
        giveUpWhen: ipxeGaveUp,
      });
      return { result, outcome: readBootOutcome(result.console) };
    },
    async destroy() {
      await bb.stop();
      await vn.destroy();
    },
  };
}

/**
 * iPXE stuck in the script's retry loop (branchboot's templates say "could not load … retrying"),
 * or iPXE giving up on DHCP/the script outright: waiting for the timeout would only cost time.
 */
export function ipxeGaveUp(text: string): boolean {
  if ((text.match(/could not load/g) ?? []).length >= 2) return true;
  return /No more network devices|Could not boot image|Boot failed|No bootable device/.test(text);
}

/** The kernel arguments of the script's `kernel` line, with iPXE's ${mac:hexhyp} filled in for `mac`. */
export function scriptKernelArgs(script: string, mac: string): string[] {
  const line = /^\s*kernel\s+(.*)$/m.exec(script)?.[1] ?? '';
  const all = line.replace(/\$\{mac:hexhyp\}/g, mac.toLowerCase().replace(/:/g, '-')).split(/\s+/).filter(Boolean);
  // iPXE chains commands with || and && ("kernel … || goto failed"): the arguments end there.
  const stop = all.findIndex((w) => w === '||' || w === '&&');
  const words = stop < 0 ? all : all.slice(0, stop);
  // iPXE's own options and the kernel URL come before the arguments.
  const withValue = new Set(['--name', '-n', '--timeout', '-t']);
  while (words.length) {
    const w = words[0]!;
    if (withValue.has(w)) { words.splice(0, 2); continue; }
    if (w.startsWith('-')) { words.shift(); continue; }
    words.shift();   // the kernel's URL or file name
    break;
  }
  return words;
}

/** /proc/cmdline as words. Under UEFI, iPXE hands the kernel its image name first ("vmlinuz initrd=…"). */
export function procCmdlineArgs(cmdline: string, firmware: 'bios' | 'uefi'): string[] {
  const words = cmdline.split(/\s+/).filter(Boolean);
  if (firmware === 'uefi' && words.length && !words[0]!.includes('=')) words.shift();
  return words;
}
