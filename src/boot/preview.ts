// A plan as an admin previews it (`branchboot plan MAC`, GET /api/v1/machines/{mac}/boot-plan):
// the same planner the protocols ask, without recording boot events.
import { normalizeMac } from '../util/net.ts';
import { UserError } from '../util/errors.ts';
import type { BootPlan, BootPlanner } from './types.ts';

export interface PreviewOptions {
  /** Option 93 to pretend (default 0, BIOS). */
  arch?: number | undefined;
  /** Pretend iPXE is already running (the first file is then the script URL). */
  ipxe?: boolean | undefined;
  httpBoot?: boolean | undefined;
  /** Address the client would reach this server on (URLs in the script). */
  serverAddress?: string | undefined;
  clientIp?: string | undefined;
}

export interface PlanPreview {
  mac: string;
  plan: BootPlan;
}

/** Throws UserError for a malformed MAC; everything else is in the plan (kind "error" included). */
export async function previewBootPlan(planner: BootPlanner, macText: string, o: PreviewOptions = {}): Promise<PlanPreview> {
  const mac = normalizeMac(macText);
  if (!mac) throw new UserError(`"${macText}" is not a MAC address`);
  const plan = await planner.plan({
    mac, arch: o.arch ?? 0, ipxe: o.ipxe, httpBoot: o.httpBoot, serverAddress: o.serverAddress, clientIp: o.clientIp, preview: true,
  });
  return { mac, plan };
}

/** Human form: the decision, then the script the client would run. */
export function formatPlan(p: PlanPreview): string {
  const { plan } = p;
  const lines = [`machine     ${p.mac}`, `plan        ${plan.kind}${'action' in plan ? ` (action ${plan.action})` : ''}`];
  if (plan.firmware) lines.push(`firmware    ${plan.firmware}`);
  lines.push(`first file  ${plan.firstFile.bootfile || `(none: ${plan.firstFile.unsupported ?? '?'})`}${plan.firstFile.tftpServer ? ` from ${plan.firstFile.tftpServer}` : ''}${plan.firstFile.httpClient ? ' (HTTPClient)' : ''}`);
  if (plan.kind === 'image') {
    lines.push(
      `image       ${plan.image.name} version ${plan.image.version} (${plan.image.flavor})`,
      `root        ${plan.root.transport} ${plan.root.location}`,
      `kernel      ${plan.kernelUrl}`,
      `initrd      ${plan.initrdUrl || '(none)'}`,
      `cmdline     ${plan.cmdline}`,
    );
  }
  if (plan.kind === 'error') lines.push(`reason      ${plan.reason}`);
  lines.push('', '--- iPXE script ---', plan.script.trimEnd(), '');
  return lines.join('\n');
}
