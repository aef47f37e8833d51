// The shape every VM case shares: set up, import, serve, boot the VMs (in parallel), and check
// on each serial console that the right root booted with the kernel command line branchboot
// planned. A missing piece skips the case with its reason; a hard timeout bounds every VM.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { consoleTail } from './console.ts';
import { formatEvent, TimelineReader, type TimelineEvent } from './timeline.ts';
import type { ServeOptions } from './branchboot.ts';
import { vmSkipReason } from './prerequisites.ts';
import { until } from '../until.ts';
import { createScenario, NotReady, procCmdlineArgs, scriptKernelArgs, type ImageToImport, type Scenario, type VmSpec } from './scenario.ts';

export interface CaseVm extends VmSpec {
  /** The marker of the image this machine must boot. */
  marker: string;
  /** Arguments /proc/cmdline must contain: exact strings or patterns. */
  mustHave: (string | RegExp)[];
  /** Boot event stages this machine's timeline must contain. */
  expectEvents?: string[];
}

/**
 * A machine's events: those with its MAC, plus MAC-less ones (kernel, initrd, root fetches the
 * server cannot tie to a lease, as in proxy mode) from an address its MAC-tagged events used.
 */
export function machineTimeline(events: TimelineEvent[], mac: string, since: number): { events: TimelineEvent[]; byIpOnly: number } {
  const recent = events.filter((e) => e.at >= since);
  const tagged = recent.filter((e) => e.mac?.toLowerCase() === mac.toLowerCase());
  const ips = new Set(tagged.map((e) => e.ip).filter((ip): ip is string => Boolean(ip)));
  const untagged = recent.filter((e) => !e.mac && e.ip && ips.has(e.ip));
  const all = [...tagged, ...untagged].sort((a, b) => a.id - b.id);
  return { events: all, byIpOnly: untagged.length };
}

export interface CaseSpec {
  name: string;
  serve?: ServeOptions;
  needs: ('dhcp' | 'tftp' | 'nbd')[];
  inventory: unknown;
  images: ImageToImport[];
  vms: CaseVm[];
  uefi?: boolean;
  tools?: string[];
  /** Runs after serve, before the VMs start (a second DHCP server, …). */
  beforeBoot?: (sc: Scenario) => Promise<void> | void;
}

export const MAC_HEXHYP = (mac: string) => mac.toLowerCase().replace(/:/g, '-');

export async function runCase(t: TestContext, spec: CaseSpec): Promise<void> {
  const skip = vmSkipReason({ uefi: spec.uefi ?? false, tools: spec.tools ?? [] });
  if (skip) { t.skip(skip); return; }
  const sc = await createScenario(spec.name, spec.serve);
  try {
    const t0 = Date.now();
    sc.apply(spec.inventory);
    for (const img of spec.images) await sc.importImage(img);
    await sc.serve(spec.needs);
    const scripts = spec.vms.map((vm) => sc.ipxeScript(vm.mac));
    await sc.vn.startRouterAdvert();
    if (spec.beforeBoot) await spec.beforeBoot(sc);
    const setupMs = Date.now() - t0;
    const bootStart = Date.now();
    const runs = await Promise.all(spec.vms.map((vm) => sc.boot(vm)));
    // Boot events reach the database in 100 ms batches (from worker threads too): wait until every
    // machine's expected stages are there; a fixed 300 ms was not always enough on a loaded machine.
    const reader = new TimelineReader(path.join(sc.out, 'var', 'branchboot.db'));
    const events: TimelineEvent[] = [];
    const complete = () => spec.vms.every((vm) => {
      const stages = new Set(machineTimeline(events, vm.mac, bootStart).events.map((e) => e.stage));
      return (vm.expectEvents ?? []).every((s) => stages.has(s));
    });
    await until(() => { events.push(...reader.next()); return complete(); }, 'the expected boot events', { timeoutMs: 15_000, everyMs: 100 }).catch(() => {});
    events.push(...reader.next());
    reader.close();
    spec.vms.forEach((vm, i) => {
      const { result, outcome } = runs[i]!;
      const tail = `\n--- ${vm.name} console (${sc.out}/${vm.name}.console.log) ---\n${consoleTail(result.console)}\n--- server ---\n${sc.bb.output().split('\n').slice(-15).join('\n')}`;
      assert.equal(outcome.failure, undefined, `${vm.name}: the initramfs failed: ${outcome.failure}${tail}`);
      assert.equal(result.gaveUp, false, `${vm.name}: the firmware or iPXE gave up${tail}`);
      assert.equal(result.timedOut, false, `${vm.name}: no marker within ${vm.timeoutMs ?? 180_000} ms${tail}`);
      assert.equal(outcome.marker, vm.marker, `${vm.name}: booted the wrong root or none${tail}`);
      const args = procCmdlineArgs(outcome.cmdline ?? '', vm.firmware);
      for (const want of vm.mustHave) {
        const ok = typeof want === 'string' ? args.includes(want) : args.some((a) => want.test(a));
        assert.ok(ok, `${vm.name}: /proc/cmdline lacks ${String(want)}: ${outcome.cmdline}`);
      }
      // Exactly what the planner wrote into the script, after iPXE filled in the MAC.
      assert.deepEqual(args, scriptKernelArgs(scripts[i]!, vm.mac), `${vm.name}: /proc/cmdline differs from the script's kernel line`);
      const tl = machineTimeline(events, vm.mac, bootStart);
      fs.writeFileSync(path.join(sc.out, `${vm.name}.timeline.txt`), tl.events.map((e) => `${formatEvent(e, bootStart)}${e.mac ? '' : '  (no MAC: matched by IP)'}`).join('\n') + '\n');
      const stages = [...new Set(tl.events.map((e) => e.stage))];
      t.diagnostic(`${vm.name}: boot events: ${stages.join(' → ') || '(none)'}${tl.byIpOnly ? ` (${tl.byIpOnly} without a MAC, matched by IP)` : ''}`);
      // Issue 6: every step a client takes is a boot event, so its boot reads as one timeline.
      for (const stage of vm.expectEvents ?? []) {
        assert.ok(stages.includes(stage), `${vm.name}: no ${stage} boot event; timeline: ${stages.join(', ')}`);
      }
      t.diagnostic(`${vm.name}: power-on to marker ${(result.durationMs / 1000).toFixed(1)} s; cmdline: ${outcome.cmdline}`);
    });
    t.diagnostic(`setup (apply, import, serve) ${(setupMs / 1000).toFixed(1)} s`);
  } catch (err) {
    if (err instanceof NotReady) { t.skip(err.message); return; }
    throw err;
  } finally {
    await sc.destroy();
  }
}
