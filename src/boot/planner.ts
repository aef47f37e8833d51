// The boot planner: client → what it boots. DHCP asks for the first file, iPXE (over HTTP)
// and TFTP clients ask for the script or config. Every failure becomes an error plan whose
// script tells the person at the machine why — a protocol server never sees an exception.
import fs from 'node:fs';
import path from 'node:path';
import type { AppContext } from '../service.ts';
import type { EventBus } from '../events.ts';
import { imageUrls } from '../store/urls.ts';
import { normalizeMac } from '../util/net.ts';
import { errorMessage } from '../util/errors.ts';
import { macForIp, markRootFetched, type Registration } from '../model/boot-queries.ts';
import type { Flavor, Transport } from '../db/schema.ts';
import type { BootClient, BootPlan, BootPlanner, FirstFile, Firmware, GeneratedFileClient, RootPlan } from './types.ts';
import { bootBinary, firmwareOf, isHttpBoot } from './firmware.ts';
import { IPXE_BOOTIF, bootifFor, composeCmdline, rootArgs } from './cmdline.ts';
import { cmdlineProblem } from './cmdline-limits.ts';
import { lastStepSeen } from './last-step.ts';
import { endpointsFor, type Endpoints } from './endpoints.ts';
import { dbTargetLookups, menuImages, resolveImage, resolveTarget, type Target, type TargetLookups } from './resolve.ts';
import { bootTemplates, bootText, grubPath, type BootTemplates } from './templates.ts';
import { parseGeneratedName, GeneratedCache } from './generated.ts';

export type PlannerDeps = Pick<AppContext, 'config' | 'db' | 'log'> & {
  /** Records plan.error boot events when given (src/app.ts passes ctx.events). */
  events?: EventBus | undefined;
  templates?: BootTemplates | undefined;
};

/** Seconds an error script waits before it boots the local disk; a failed image load waits before retrying. */
const ERROR_WAIT_S = 30;
const RETRY_S = 10;

/** One bootable image entry, in every format's terms. */
interface ImageView {
  label: string;
  title: string;
  available: true;
  image: string;
  version: number;
  flavor: Flavor;
  transport: Transport;
  kernelUrl: string;
  initrdUrl: string;
  /** With BOOTIF=01-${mac:hexhyp} for iPXE. */
  cmdline: string;
  /** With the literal BOOTIF: the plan, GRUB. */
  cmdlineLiteral: string;
  /** Without BOOTIF: pxelinux adds it itself (IPAPPEND 2). */
  cmdlineNoBootif: string;
  grubKernel: string;
  grubInitrd: string;
  root: RootPlan;
  template: string | null;
}

type Built =
  | { kind: 'image'; target: Target; view: ImageView }
  | { kind: 'local'; target: Target }
  | { kind: 'menu'; target: Target; items: (ImageView | { label: string; title: string; available: false; reason: string })[]; defaultLabel: string; timeoutS: number }
  | { kind: 'error'; target?: Target | undefined; reason: string };

export function createPlanner(deps: PlannerDeps): BootPlanner {
  const { config, db, log } = deps;
  const templates = () => deps.templates ?? bootTemplates();
  const cache = new GeneratedCache();
  // Whether a hand-added binary (arm64-efi/…) is in a TFTP root; a DHCP storm must not stat per packet.
  const seen = new Map<string, { ok: boolean; at: number }>();
  const present = (rel: string): boolean => {
    const hit = seen.get(rel);
    if (hit && Date.now() - hit.at < 60_000) return hit.ok;
    const ok = config.tftp.roots.some((r) => fs.existsSync(path.join(r, rel)));
    seen.set(rel, { ok, at: Date.now() });
    return ok;
  };

  // A machine that was told to fetch a binary nobody installed shows only "file not found" (or
  // PXE-E32) on its screen: say it here, once per binary per ten minutes, in words an admin acts on.
  const warnedMissing = new Map<string, number>();
  function warnIfMissing(bin: string, fw: Firmware, via: 'tftp' | 'http'): void {
    if (present(bin)) return;
    const last = warnedMissing.get(bin);
    if (last !== undefined && Date.now() - last < 600_000) return;
    warnedMissing.set(bin, Date.now());
    const where = config.tftp.roots.join(', ') || '(no tftp.roots)';
    const fix = bin.includes('/') ? `put an iPXE build for this architecture there as ${bin}` : 'install Debian\'s ipxe package (/usr/lib/ipxe) or add a folder holding iPXE to tftp.roots';
    log.warn({ file: bin, firmware: fw, via, roots: config.tftp.roots }, `boot: ${fw} clients are sent to ${bin}, which is in none of tftp.roots (${where}): they will get "file not found"; ${fix}`);
  }

  function firstFileFor(c: BootClient, fw: Firmware, ep: Endpoints): FirstFile {
    // iPXE already runs: hand it its script over HTTP (it sends user class "iPXE" on its own DHCP).
    if (c.ipxe) return { bootfile: `${ep.selfBase}${imageUrls.ipxeScript(c.mac)}` };
    const bin = bootBinary(fw, config.boot.efiBinary, present);
    if (!bin) return { bootfile: '', unsupported: `no boot binary for client architecture ${c.arch ?? '?'} (${fw})` };
    // UEFI HTTP Boot takes only a full URL, and ignores offers without "HTTPClient" in option 60.
    if (isHttpBoot(fw)) {
      warnIfMissing(bin, fw, 'http');
      return { bootfile: `${ep.selfBase}/boot/bin/${bin}`, httpClient: true };
    }
    // A branch's own TFTP server holds its own files: only ours are ours to check.
    if (!ep.tftpServerIsBranch) warnIfMissing(bin, fw, 'tftp');
    return { bootfile: bin, tftpServer: ep.tftpServer };
  }

  const fromDb = dbTargetLookups(db);

  async function targetOf<M extends Registration>(c: BootClient, look: TargetLookups<M>) {
    return resolveTarget(look, c.mac, c.branchId, c.clientIp, c.uuid);
  }

  async function imageView(t: Target, ep: Endpoints, label: string, menuRef?: string): Promise<ImageView | { reason: string }> {
    const r = await resolveImage(db, t, menuRef);
    if (!r.ok) return { reason: r.reason };
    const { image, version, flavor, transport, kernelArgs } = r.value;
    const root = rootArgs({ flavor, transport, image: image.name, version: version.version, rootKind: version.root_kind, rootFile: version.root_file }, ep);
    if (!root.ok) return { reason: `image ${image.name} v${version.version}: ${root.reason}` };
    if (!version.initrd_blob && flavor !== 'custom') return { reason: `image ${image.name} version ${version.version} has no initrd (flavor ${flavor} needs one)` };
    const line = (bootif: string) => composeCmdline({ flavor, root: root.args, bootif, consoleArgs: config.boot.consoleArgs, extra: kernelArgs });
    const kernelUrl = `${ep.httpBase}${imageUrls.kernel(image.name, version.version)}`;
    const initrdUrl = version.initrd_blob ? `${ep.httpBase}${imageUrls.initrd(image.name, version.version)}` : '';
    const literal = line(bootifFor(t.mac));
    const problem = cmdlineProblem(literal);
    if (problem) return { reason: `image ${image.name} v${version.version}: ${problem}` };
    return {
      label, available: true, title: bootText(`${image.name} v${version.version}${image.description ? ` - ${image.description}` : ''}`),
      image: image.name, version: version.version, flavor, transport, kernelUrl, initrdUrl,
      cmdline: line(IPXE_BOOTIF), cmdlineLiteral: literal,
      cmdlineNoBootif: literal.split(' ').filter((a) => !a.startsWith('BOOTIF=')).join(' '),
      grubKernel: grubPath(kernelUrl), grubInitrd: initrdUrl ? grubPath(initrdUrl) : '',
      root: root.root, template: version.template,
    };
  }

  async function build(c: BootClient, ep: Endpoints): Promise<Built> {
    const t = await targetOf(c, fromDb);
    if (!t.ok) return { kind: 'error', reason: t.reason };
    const target = t.value;
    const action = target.action;
    if (action === 'local' || (action === 'once' && target.machine?.once_pending !== 1)) return { kind: 'local', target };
    if (action === 'menu') {
      const branch = target.branch!;
      const refs = menuImages(branch);
      if (refs.length === 0) return { kind: 'error', target, reason: `branch ${branch.name} shows a menu but lists no menu images` };
      const items = await Promise.all(refs.map(async (ref, i) => {
        const v = await imageView(target, ep, `img${i}`, ref);
        return 'reason' in v ? { label: `img${i}`, title: bootText(ref), available: false as const, reason: bootText(v.reason) } : v;
      }));
      const defName = branch.default_image?.split('@')[0];
      const def = items.find((it) => it.available && (it as ImageView).image === defName) ?? items.find((it) => it.available);
      return { kind: 'menu', target, items, defaultLabel: def?.label ?? 'local', timeoutS: branch.menu_timeout_s };
    }
    const v = await imageView(target, ep, 'img0');
    if ('reason' in v) return { kind: 'error', target, reason: v.reason };
    return { kind: 'image', target, view: v };
  }

  function ipxeScript(b: Built, mac: string, ep: Endpoints): string {
    const scriptUrl = `${ep.selfBase}${imageUrls.ipxeScript(mac)}`;
    const base = { mac, scriptUrl, retrySeconds: RETRY_S };
    switch (b.kind) {
      case 'image': {
        const ctx = { ...base, ...b.view };
        return b.view.template ? templates().renderOverride(b.view.template, ctx) : templates().render('ipxe-image', ctx);
      }
      case 'local': return templates().render('ipxe-local', base);
      case 'menu':
        return templates().render('ipxe-menu', {
          ...base, branch: bootText(b.target.branch?.name ?? ''), items: b.items, default: b.defaultLabel,
          timeoutMs: b.timeoutS * 1000,
        });
      case 'error': return errorScript(mac, b.reason, scriptUrl);
    }
  }

  function errorScript(mac: string, reason: string, scriptUrl: string): string {
    try {
      return templates().render('ipxe-error', { mac, reason: bootText(reason), scriptUrl, waitMs: ERROR_WAIT_S * 1000, waitSeconds: ERROR_WAIT_S });
    } catch (err) {
      log.error({ err, mac }, 'boot error template failed');
      // The last resort must not depend on a template file.
      return `#!ipxe\necho branchboot cannot boot ${mac}: ${bootText(reason)}\nsleep ${ERROR_WAIT_S}\nexit\n`;
    }
  }

  function recordError(c: { mac?: string | undefined; clientIp?: string | undefined; preview?: boolean | undefined }, branchId: number | undefined, reason: string): void {
    if (c.preview) return;
    log.warn({ mac: c.mac, branchId, reason }, 'boot plan error');
    deps.events?.record({ mac: c.mac ?? null, ip: c.clientIp ?? null, branchId: branchId ?? null, stage: 'plan.error', detail: { reason } });
  }

  async function safeEndpoints(c: BootClient, look: TargetLookups<Registration> = fromDb): Promise<{ fw: Firmware; ep: Endpoints; target?: Target<Registration> | undefined }> {
    const fw = firmwareOf(c.arch, c.httpBoot);
    let target: Target<Registration> | undefined;
    try {
      const t = await targetOf(c, look);
      if (t.ok) target = t.value;
    } catch (err) {
      log.error({ err, mac: c.mac }, 'boot target lookup failed');
    }
    return { fw, ep: endpointsFor(config, target?.branch, c.serverAddress), target };
  }

  async function plan(c: BootClient): Promise<BootPlan> {
    const { fw, ep, target } = await safeEndpoints(c);
    const ff = firstFileFor(c, fw, ep);
    const branchId = target?.branch?.id;
    const scriptUrl = `${ep.selfBase}${imageUrls.ipxeScript(c.mac)}`;
    const fail = (reason: string): BootPlan => {
      recordError(c, branchId, reason);
      return { kind: 'error', firstFile: ff, reason, script: errorScript(c.mac, reason, scriptUrl), branchId, firmware: fw };
    };
    let b: Built;
    try {
      b = await build(c, ep);
    } catch (err) {
      log.error({ err, mac: c.mac }, 'boot plan failed');
      return fail(`internal error: ${errorMessage(err)}`);
    }
    if (b.kind === 'error') return fail(b.reason);
    let script: string;
    try {
      script = ipxeScript(b, c.mac, ep);
    } catch (err) {
      return fail(`template error: ${errorMessage(err)}`);
    }
    const action = b.target.action;
    switch (b.kind) {
      case 'image': {
        const v = b.view;
        if (action === 'once' && !c.preview && lastStepSeen(ep, v.transport) === 'script') await onceUsedByScript(c, branchId, v);
        return {
          kind: 'image', action, firstFile: ff, branchId, firmware: fw,
          image: { name: v.image, version: v.version, flavor: v.flavor },
          kernelUrl: v.kernelUrl, initrdUrl: v.initrdUrl, cmdline: v.cmdlineLiteral, root: v.root, script,
        };
      }
      case 'local': return { kind: 'local', action, firstFile: ff, script, branchId, firmware: fw };
      case 'menu': return { kind: 'menu', action, firstFile: ff, script, branchId, firmware: fw };
    }
  }

  /** The branch's own servers deliver everything after this script: serving it is the step that uses up "once". */
  async function onceUsedByScript(c: BootClient, branchId: number | undefined, v: ImageView): Promise<void> {
    try {
      if (await markRootFetched(db, c.mac)) {
        deps.events?.record({ mac: c.mac, ip: c.clientIp ?? null, branchId: branchId ?? null, stage: 'boot.once-done', detail: { image: v.image, version: v.version, transport: v.transport, seen: 'script' } });
      }
    } catch (err) {
      log.error({ err, mac: c.mac }, 'could not use up a once boot');
    }
  }

  async function firstFile(c: BootClient, look?: TargetLookups<Registration>): Promise<FirstFile> {
    try {
      const { fw, ep } = await safeEndpoints(c, look);
      return firstFileFor(c, fw, ep);
    } catch (err) {
      log.error({ err, mac: c.mac }, 'first file failed');
      const fw = firmwareOf(c.arch, c.httpBoot);
      return { bootfile: bootBinary(fw, config.boot.efiBinary) ?? '', tftpServer: c.serverAddress };
    }
  }

  async function renderConfig(format: 'pxelinux' | 'grub', c: BootClient): Promise<string> {
    const { ep } = await safeEndpoints(c);
    let b: Built;
    try {
      b = await build(c, ep);
    } catch (err) {
      b = { kind: 'error', reason: `internal error: ${errorMessage(err)}` };
    }
    if (b.kind === 'error') recordError(c, b.target?.branch?.id, b.reason);
    const ctx: Record<string, unknown> = { mac: c.mac, kind: b.kind };
    if (b.kind === 'image') Object.assign(ctx, b.view, { cmdline: format === 'pxelinux' ? b.view.cmdlineNoBootif : b.view.cmdlineLiteral });
    if (b.kind === 'menu') {
      const items = b.items.map((it) => (it.available ? { ...it, cmdline: format === 'pxelinux' ? it.cmdlineNoBootif : it.cmdlineLiteral } : it));
      const avail = items.filter((it) => it.available);
      Object.assign(ctx, {
        items, default: b.defaultLabel, timeoutDs: b.timeoutS * 10, timeoutS: b.timeoutS,
        defaultIndex: Math.max(0, avail.findIndex((it) => it.label === b.defaultLabel)),
      });
    }
    if (b.kind === 'error') ctx.reason = bootText(b.reason);
    try {
      return templates().render(format, ctx);
    } catch (err) {
      recordError(c, undefined, `template error: ${errorMessage(err)}`);
      return format === 'pxelinux' ? 'DEFAULT local\nLABEL local\n  LOCALBOOT 0\n' : 'exit\n';
    }
  }

  async function generatedFile(name: string, client: GeneratedFileClient): Promise<Buffer | undefined> {
    const g = parseGeneratedName(name);
    if (!g) return undefined;
    const key = `${g.format}|${g.mac ?? ''}|${client.ip}`;
    const hit = cache.get(key);
    if (hit) return hit;
    try {
      const mac = g.mac ?? (client.mac ? normalizeMac(client.mac) : undefined) ?? await macForIp(db, client.ip, Date.now(), deps.events?.recentMacFor);
      const c: BootClient = { mac: mac ?? '', clientIp: client.ip, serverAddress: client.serverAddress };
      let text: string;
      if (!mac) {
        if (g.format !== 'ipxe') return undefined;
        // iPXE fills in ${mac} itself: chain to the per-machine script.
        const { ep } = await safeEndpoints(c);
        text = `#!ipxe\nchain --replace --autofree ${ep.selfBase}${imageUrls.ipxeScript('${mac}')}\n`;
      } else if (g.format === 'ipxe') {
        text = (await plan(c)).script;
      } else {
        text = await renderConfig(g.format, c);
      }
      const buf = Buffer.from(text, 'utf8');
      // The same bytes for the tsize probe and the transfer that follows it (UEFI asks twice).
      cache.set(key, buf);
      return buf;
    } catch (err) {
      log.error({ err, name }, 'generated boot file failed');
      return undefined;
    }
  }

  return { firstFile, plan, generatedFile };
}
