// GET /branches/:id: the machines table (search, filters, sort, keyset pages that stay fast
// at 10,000 machines) and the multi-select form that assigns image, version and boot action
// to the checked machines in one step (POST /branches/:id/assign).
import type { FastifyInstance } from 'fastify';
import { BOOT_ACTIONS, type BootAction, type MachineState } from '../../db/schema.ts';
import { getBranchSummary } from '../../model/branches.ts';
import { listImageChoices } from '../../model/images-admin.ts';
import { MACHINE_SORTS, countMachines, listMachines, type MachineSort } from '../../model/machine-admin.ts';
import { assignMachines } from '../../model/machine-assign.ts';
import { invalid, notFound } from '../../model/admin-errors.ts';
import { need, needBranch } from '../api/principal.ts';
import { field, fields } from './forms.ts';
import { pageCtx, redirect, send, user, type UiDeps } from './common.ts';
import { count } from '../../util/words.ts';

const PAGE = 50;

export function branchRoutes(app: FastifyInstance, { ctx, views }: UiDeps): void {
  app.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>('/branches/:id', async (req, reply) => {
    const p = user(req);
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id < 1) throw notFound('no such branch');
    needBranch(p, id);
    const branch = await getBranchSummary(ctx.db, id);
    if (!branch) throw notFound(`branch ${id} does not exist`);
    const q = req.query;
    const sort: MachineSort = (MACHINE_SORTS as readonly string[]).includes(q.sort ?? '') ? q.sort as MachineSort : 'hostname';
    const desc = q.order === 'desc';
    const state = q.state === 'registered' || q.state === 'discovered' ? (q.state as MachineState) : undefined;
    const image = q.image !== undefined && q.image !== '*' ? q.image : undefined;
    const search = (q.q ?? '').slice(0, 100) || undefined;
    const filter = { branchId: id, state, image, q: search };
    const [pageRows, total, images] = await Promise.all([
      listMachines(ctx.db, p.branches, { ...filter, sort, desc, cursor: q.cursor || undefined, limit: PAGE }),
      // Unfiltered, the header's counts are the total already.
      state || image !== undefined || search ? countMachines(ctx.db, p.branches, filter) : Promise.resolve(branch.machines + branch.discovered),
      listImageChoices(ctx.db),
    ]);
    const keep = new URLSearchParams();
    if (search) keep.set('q', search);
    if (state) keep.set('state', state);
    if (image !== undefined) keep.set('image', image);
    const sortLink = (s: MachineSort) => {
      const u = new URLSearchParams(keep);
      u.set('sort', s);
      if (s === sort && !desc) u.set('order', 'desc');
      return `?${u}`;
    };
    const keepSort = new URLSearchParams(keep);
    keepSort.set('sort', sort);
    if (desc) keepSort.set('order', 'desc');
    const next = pageRows.nextCursor ? `?${new URLSearchParams([...keepSort, ['cursor', pageRows.nextCursor]])}` : undefined;
    return send(reply, views.render('branch', pageCtx(req, `Branch ${branch.name}`, {
      branch, machines: pageRows.items, total, next, first: q.cursor ? `?${keepSort}` : undefined,
      filter: { q: search ?? '', state: state ?? '', image: image ?? '*' }, sort, desc,
      sorts: Object.fromEntries(MACHINE_SORTS.map((s) => [s, { href: sortLink(s), active: s === sort, dir: s === sort ? (desc ? 'descending' : 'ascending') : 'none' }])),
      images,
      imageNames: images.map((i) => i.name),
      actions: BOOT_ACTIONS,
      // Back to this very page after assigning, minus any old notice.
      returnTo: `/branches/${id}?${new URLSearchParams([...keepSort, ...(q.cursor ? [['cursor', q.cursor] as [string, string]] : [])])}`,
    })));
  });

  app.post<{ Params: { id: string } }>('/branches/:id/assign', async (req, reply) => {
    const p = user(req);
    need(p, 'write');
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id < 1) throw notFound('no such branch');
    needBranch(p, id);
    const a = parseAssignment(req.body);
    let target: Parameters<typeof assignMachines>[3];
    if (field(req.body, 'all') === '1') {
      // The filter the page showed, re-applied now: the set is what matches at this moment.
      const st = field(req.body, 'fstate');
      const img = field(req.body, 'fimage');
      target = { filter: {
        branchId: id, q: field(req.body, 'fq') || undefined,
        state: st === 'registered' || st === 'discovered' ? st : undefined,
        image: img === undefined || img === '*' ? undefined : img,
      } };
    } else {
      const macs = fields(req.body, 'macs');
      if (macs.length === 0) throw invalid('macs', 'Tick at least one machine, or choose all matching machines.');
      target = { macs };
    }
    const r = await assignMachines(ctx.db, p.actor, p.branches, target, a);
    const back = field(req.body, 'returnTo');
    // Back to this branch's page only: "/branches/1/../../x" or "/branches/12" are other pages.
    const page = `/branches/${id}`;
    const safe = back !== undefined && (back === page || (back.startsWith(`${page}?`) && !/[\\\x00-\x20\x7f]/.test(back)));
    return redirect(reply, safe ? back : page, `Assigned ${count(r.macs.length, 'machine')} (${r.changed} changed).`);
  });
}

/**
 * The assign form: image "" = leave, "-" = clear (branch default), else a name; version ""
 * = follow current, else a pin; action "" = leave, "-" = branch default.
 */
export function parseAssignment(body: unknown, opts: { requireOne?: boolean } = {}): { image?: string | null; version?: number | null; action?: BootAction | null } {
  const out: { image?: string | null; version?: number | null; action?: BootAction | null } = {};
  const image = field(body, 'image') ?? '';
  const version = field(body, 'version') ?? '';
  const action = field(body, 'action') ?? '';
  if (image === '-') out.image = null;
  else if (image !== '') {
    out.image = image;
    if (version === '') out.version = null;
    else {
      const v = Number(version);
      if (!/^\d{1,9}$/.test(version.trim()) || v < 1) throw invalid('version', 'The version must be a whole number.');
      out.version = v;
    }
  }
  if (action === '-') out.action = null;
  else if (action !== '') {
    if (!(BOOT_ACTIONS as readonly string[]).includes(action)) throw invalid('action', 'Unknown boot action.');
    out.action = action as BootAction;
  }
  if (Object.keys(out).length === 0 && (opts.requireOne ?? true)) throw invalid('image', 'Choose an image or a boot action to assign.');
  return out;
}
