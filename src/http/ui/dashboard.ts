// GET /: branches with machine counts, machines booting now, recent failures.
import type { FastifyInstance } from 'fastify';
import { listBranches } from '../../model/branches.ts';
import { bootingNow, countDiscovered, recentFailures } from '../../model/dashboard.ts';
import { pageCtx, send, user, type UiDeps } from './common.ts';

const BOOTING_WINDOW_MS = 10 * 60_000;
const FAILURE_WINDOW_MS = 24 * 3600_000;

export function dashboardRoutes(app: FastifyInstance, { ctx, views }: UiDeps): void {
  app.get('/', async (req, reply) => {
    const p = user(req);
    const now = Date.now();
    const [branches, booting, failures, discovered] = await Promise.all([
      listBranches(ctx.db, p.branches),
      bootingNow(ctx.db, p.branches, now - BOOTING_WINDOW_MS),
      recentFailures(ctx.db, p.branches, now - FAILURE_WINDOW_MS),
      countDiscovered(ctx.db, p.branches),
    ]);
    const names = new Map(branches.map((b) => [b.id, b.name]));
    const withBranch = <T extends { branchId: number | null }>(rows: T[]) => rows.map((r) => ({ ...r, branch: r.branchId === null ? '' : names.get(r.branchId) ?? '' }));
    return send(reply, views.render('dashboard', pageCtx(req, 'Dashboard', {
      branches, booting: withBranch(booting), failures: withBranch(failures), discovered,
    })));
  });
}
