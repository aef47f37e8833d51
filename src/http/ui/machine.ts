// GET /machines/:mac: the machine, its boot plan and rendered script, its boot timeline (live
// over SSE when JavaScript runs), its leases; POST edits it, guarded by the version the form
// was rendered from (a concurrent change gives 412, not a silent overwrite). Its leases include
// orphans (their subnet deleted, the address still held): the page is only for callers who may
// see the machine, which is the rule for seeing its orphan leases.
import type { FastifyInstance } from 'fastify';
import { BOOT_ACTIONS } from '../../db/schema.ts';
import { HOSTNAME_RE, getMachineView, updateMachine, type MachineView } from '../../model/machine-admin.ts';
import { listImageChoices } from '../../model/images-admin.ts';
import { queryLeases } from '../../model/leases-query.ts';
import { eventsForMac } from '../../model/dashboard.ts';
import { AdminError, invalid, notFound } from '../../model/admin-errors.ts';
import { normalizeMac } from '../../util/net.ts';
import { etagOf } from '../api/etag.ts';
import { need, needBranch } from '../api/principal.ts';
import { field } from './forms.ts';
import { parseAssignment } from './branch.ts';
import { pageCtx, redirect, send, user, type UiDeps } from './common.ts';

export function machineRoutes(app: FastifyInstance, { ctx, views }: UiDeps): void {
  const find = async (raw: string, p: ReturnType<typeof user>): Promise<MachineView> => {
    const mac = normalizeMac(raw);
    const m = mac ? await getMachineView(ctx.db, mac) : undefined;
    if (!m) throw notFound(`machine ${raw} does not exist`);
    needBranch(p, m.branchId);
    return m;
  };

  app.get<{ Params: { mac: string } }>('/machines/:mac', async (req, reply) => {
    const p = user(req);
    const m = await find(req.params.mac, p);
    const [plan, events, leases, images] = await Promise.all([
      ctx.planner.plan({ mac: m.mac, arch: 0, ipxe: true, branchId: m.branchId ?? undefined, preview: true }),
      eventsForMac(ctx.db, m.mac),
      queryLeases(ctx.db, p.branches, { mac: m.mac, limit: 20 }),
      listImageChoices(ctx.db),
    ]);
    return send(reply, views.render('machine', pageCtx(req, `Machine ${m.hostname ?? m.mac}`, {
      m, plan, events, leases, hasOrphanLease: leases.some((l) => l.orphan), etag: etagOf(m), actions: BOOT_ACTIONS, images: images.map((i) => i.name),
    })));
  });

  app.post<{ Params: { mac: string } }>('/machines/:mac', async (req, reply) => {
    const p = user(req);
    need(p, 'write');
    const m = await find(req.params.mac, p);
    const etag = field(req.body, 'etag') ?? '';
    const hostname = (field(req.body, 'hostname') ?? '').trim();
    // 253: a DNS name's limit, and the API's (RFC 1035 §2.3.4).
    if (hostname && (hostname.length > 253 || !HOSTNAME_RE.test(hostname))) throw invalid('hostname', 'A hostname has letters, digits, dashes and dots, up to 63 between dots and 253 in all.');
    // A bad version or action is an error to show, never a silent "Saved." without it.
    const a = parseAssignment(req.body, { requireOne: false });
    await updateMachine(ctx.db, p.actor, p.branches, m.mac, { hostname: hostname || null, ...a }, (before) => {
      if (etagOf(before) !== etag) throw new AdminError('stale', 'changed meanwhile');
    });
    return redirect(reply, `/machines/${m.mac}`, 'Saved.');
  });
}
