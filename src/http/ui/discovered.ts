// GET /discovered: machines seen on the network but not registered; POST registers the ticked
// ones into a branch with a hostname pattern and an image.
import type { FastifyInstance } from 'fastify';
import { BOOT_ACTIONS } from '../../db/schema.ts';
import { listBranches } from '../../model/branches.ts';
import { listImageChoices } from '../../model/images-admin.ts';
import { listMachines } from '../../model/machine-admin.ts';
import { registerDiscovered } from '../../model/machine-register.ts';
import { invalid } from '../../model/admin-errors.ts';
import { need, needBranch } from '../api/principal.ts';
import { field, fields } from './forms.ts';
import { parseAssignment } from './branch.ts';
import { pageCtx, redirect, send, user, type UiDeps } from './common.ts';
import { count } from '../../util/words.ts';

export function discoveredRoutes(app: FastifyInstance, { ctx, views }: UiDeps): void {
  app.get<{ Querystring: { cursor?: string } }>('/discovered', async (req, reply) => {
    const p = user(req);
    const [page, branches, images] = await Promise.all([
      listMachines(ctx.db, p.branches, { state: 'discovered', sort: 'lastSeen', desc: true, cursor: req.query.cursor || undefined, limit: 100 }),
      listBranches(ctx.db, p.branches),
      listImageChoices(ctx.db),
    ]);
    return send(reply, views.render('discovered', pageCtx(req, 'Discovered machines', {
      machines: page.items, next: page.nextCursor ? `?cursor=${encodeURIComponent(page.nextCursor)}` : undefined,
      branches, images: images.map((i) => i.name), actions: BOOT_ACTIONS,
    })));
  });

  app.post('/discovered/register', async (req, reply) => {
    const p = user(req);
    need(p, 'write');
    const macs = fields(req.body, 'macs');
    if (macs.length === 0) throw invalid('macs', 'Tick at least one machine.');
    const branchId = Number(field(req.body, 'branchId'));
    if (!Number.isInteger(branchId) || branchId < 1) throw invalid('branchId', 'Choose a branch.');
    needBranch(p, branchId);
    const pattern = (field(req.body, 'hostnamePattern') ?? '').trim();
    if (pattern.length > 200) throw invalid('hostnamePattern', 'The hostname pattern is too long (200 characters at most).');
    const startRaw = (field(req.body, 'start') ?? '').trim() || '1';
    const start = Number(startRaw);
    if (!/^\d{1,7}$/.test(startRaw) || start > 1_000_000) throw invalid('start', 'The first number must be a whole number up to 1000000.');
    const a = parseAssignment(req.body, { requireOne: false });
    const done = await registerDiscovered(ctx.db, p.actor, p.branches, { macs, branchId, hostnamePattern: pattern || undefined, start, ...a });
    return redirect(reply, `/branches/${branchId}`, `Registered ${count(done.length, 'machine')}: ${done.map((m) => m.hostname ?? m.mac).join(', ')}.`);
  });
}
