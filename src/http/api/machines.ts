// /v1/machines: list (filters, sort, stable cursors), CRUD with ETags, bulk import with dry
// run, bulk assignment, and per-machine views (boot plan preview, leases).
import { Type, type Static } from '@sinclair/typebox';
import { MachineSpec } from '../../model/inventory/schema.ts';
import {
  HOSTNAME_RE, MACHINE_SORTS, createMachine, deleteMachine, getMachineView, listMachines, updateMachine, type MachineView,
} from '../../model/machine-admin.ts';
import { assignMachines } from '../../model/machine-assign.ts';
import { csvToMachineSpecs, importMachines } from '../../model/machine-import.ts';
import { queryLeases } from '../../model/leases-query.ts';
import { invalid, notFound } from '../../model/admin-errors.ts';
import { normalizeMac } from '../../util/net.ts';
import { principal } from './auth.ts';
import { etagOf, ifMatch } from './etag.ts';
import { need, needBranch, type Principal } from './principal.ts';
import { Action, Cursor, Hostname, Id, Ipv4, Limit, Mac, MachineView as MachineViewS, Name, Nullable, StrEnum, TransportS, errors, page } from './schemas.ts';
import type { ApiModule } from './types.ts';
import type { Db } from '../../db/index.ts';

const tags = ['machines'];
const MacParams = Type.Object({ mac: Mac });
type MacParams = Static<typeof MacParams>;

export const ListQuery = Type.Object({
  branch: Type.Optional(Id),
  state: Type.Optional(StrEnum(['registered', 'discovered'] as const)),
  image: Type.Optional(Type.String({ maxLength: 64, description: 'image name; empty = machines without their own image' })),
  q: Type.Optional(Type.String({ maxLength: 100, description: 'substring of hostname, MAC or address' })),
  sort: Type.Optional(StrEnum(MACHINE_SORTS)),
  order: Type.Optional(StrEnum(['asc', 'desc'] as const)),
  cursor: Type.Optional(Cursor),
  limit: Type.Optional(Limit),
}, { additionalProperties: false });

const Fields = {
  hostname: Type.Optional(Nullable(Hostname)),
  branchId: Type.Optional(Id),
  ip: Type.Optional(Nullable(Ipv4)),
  image: Type.Optional(Nullable(Name)),
  version: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
  action: Type.Optional(Nullable(Action)),
  transport: Type.Optional(Nullable(TransportS)),
  kernelArgs: Type.Optional(Type.String({ maxLength: 2000 })),
};
const CreateBody = Type.Object({ mac: Mac, ...Fields, branchId: Id }, { additionalProperties: false });
const PatchBody = Type.Object(Fields, { additionalProperties: false });

const Filter = Type.Object({
  branch: Type.Optional(Id), state: Type.Optional(StrEnum(['registered', 'discovered'] as const)),
  image: Type.Optional(Type.String({ maxLength: 64 })), q: Type.Optional(Type.String({ maxLength: 100 })),
}, { additionalProperties: false });
const AssignBody = Type.Object({
  macs: Type.Optional(Type.Array(Mac, { minItems: 1, maxItems: 10000 })),
  filter: Type.Optional(Filter),
  image: Type.Optional(Nullable(Name)),
  version: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
  action: Type.Optional(Nullable(Action)),
}, { additionalProperties: false });

const ImportJson = Type.Object({ machines: Type.Array(MachineSpec, { maxItems: 20000 }) }, { additionalProperties: false });
const ImportQuery = Type.Object({ dryRun: Type.Optional(Type.Boolean({ default: false })) }, { additionalProperties: false });
const PlanQuery = Type.Object({
  arch: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'DHCP option 93 (0 BIOS, 7 UEFI x64, 16 UEFI HTTP)' })),
  ipxe: Type.Optional(Type.Boolean({ default: true, description: 'the client already runs iPXE' })),
}, { additionalProperties: false });

function macOf(raw: string): string {
  const mac = normalizeMac(raw);
  if (!mac) throw invalid('mac', `"${raw}" is not a MAC address`);
  return mac;
}

/** The machine, checked against the caller's branches (404 before 403 would leak nothing more: MACs are not secrets). */
export async function visibleMachine(db: Db, p: Principal, raw: string): Promise<MachineView> {
  const m = await getMachineView(db, macOf(raw));
  if (!m) throw notFound(`machine ${macOf(raw)} does not exist`);
  needBranch(p, m.branchId);
  return m;
}

export const machineRoutes: ApiModule = (app, ctx) => {
  const db = ctx.db;
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 10 * 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.get<{ Querystring: Static<typeof ListQuery> }>('/v1/machines', {
    schema: { tags, summary: 'List machines (keyset pages: pass nextCursor back as cursor)', querystring: ListQuery, response: { 200: page(MachineViewS), ...errors(400, 401, 403) } },
  }, async (req) => {
    const p = principal(req);
    need(p, 'read');
    const q = req.query;
    if (q.branch !== undefined) needBranch(p, q.branch);
    return listMachines(db, p.branches, { branchId: q.branch, state: q.state, image: q.image, q: q.q, sort: q.sort, desc: q.order === 'desc', cursor: q.cursor, limit: q.limit });
  });

  app.post<{ Body: Static<typeof CreateBody> }>('/v1/machines', { schema: { tags, summary: 'Register a machine', body: CreateBody, response: { 201: MachineViewS, ...errors(400, 401, 403, 409) } } }, async (req, reply) => {
    const p = principal(req);
    need(p, 'write');
    const { mac, ...rest } = req.body;
    const m = await createMachine(db, p.actor, p.branches, mac, rest);
    return reply.code(201).header('etag', etagOf(m)).header('location', `/api/v1/machines/${m.mac}`).send(m);
  });

  app.get<{ Params: MacParams }>('/v1/machines/:mac', { schema: { tags, summary: 'One machine', params: MacParams, response: { 200: MachineViewS, ...errors(400, 401, 403, 404) } } }, async (req, reply) => {
    const p = principal(req);
    need(p, 'read');
    const m = await visibleMachine(db, p, req.params.mac);
    return reply.header('etag', etagOf(m)).send(m);
  });

  app.patch<{ Params: MacParams; Body: Static<typeof PatchBody> }>('/v1/machines/:mac', {
    schema: { tags, summary: 'Change a machine (If-Match required)', params: MacParams, body: PatchBody, response: { 200: MachineViewS, ...errors(400, 401, 403, 404, 409, 412, 428) } },
  }, async (req, reply) => {
    const p = principal(req);
    need(p, 'write');
    await visibleMachine(db, p, req.params.mac);
    const check = ifMatch<MachineView>(req);
    const m = await updateMachine(db, p.actor, p.branches, macOf(req.params.mac), req.body, check);
    return reply.header('etag', etagOf(m)).send(m);
  });

  app.delete<{ Params: MacParams }>('/v1/machines/:mac', { schema: { tags, summary: 'Delete a machine (If-Match required)', params: MacParams, response: errors(400, 401, 403, 404, 412, 428) } }, async (req, reply) => {
    const p = principal(req);
    need(p, 'write');
    await visibleMachine(db, p, req.params.mac);
    const check = ifMatch<MachineView>(req);
    await deleteMachine(db, p.actor, p.branches, macOf(req.params.mac), check);
    return reply.code(204).send();
  });

  app.post<{ Body: Static<typeof AssignBody> }>('/v1/machines/assign', {
    schema: { tags, summary: 'Assign image / version / boot action to machines by MAC list or filter', body: AssignBody, response: errors(400, 401, 403, 404) },
  }, async (req) => {
    const p = principal(req);
    need(p, 'write');
    const b = req.body;
    if (!b.macs === !b.filter) throw invalid('macs', 'give either macs or filter');
    if (b.image === undefined && b.version === undefined && b.action === undefined) throw invalid('image', 'name at least one of image, version, action');
    if (b.filter?.branch !== undefined) needBranch(p, b.filter.branch);
    const filter = b.filter && { branchId: b.filter.branch, state: b.filter.state, image: b.filter.image, q: b.filter.q };
    return assignMachines(db, p.actor, p.branches, { macs: b.macs, filter }, { image: b.image, version: b.version, action: b.action });
  });

  app.post<{ Body: Static<typeof ImportJson> | string; Querystring: Static<typeof ImportQuery> }>('/v1/machines/import', {
    schema: {
      tags, summary: 'Bulk import machines from JSON {machines:[…]} or text/csv (header: mac,hostname,branch,ip,image,action,transport,kernelArgs); ?dryRun=true lists the changes only',
      querystring: ImportQuery, body: { content: { 'application/json': { schema: ImportJson }, 'text/csv': { schema: Type.String() } } }, response: errors(400, 401, 403),
    },
  }, async (req) => {
    const p = principal(req);
    need(p, 'write');
    const rows = typeof req.body === 'string' ? csvToMachineSpecs(req.body) : req.body.machines;
    // The same hostname rule as POST and PATCH: a CSV cell like "e,02" or "<b>" is a typo, not a name.
    rows.forEach((r, i) => {
      if (r.hostname !== undefined && r.hostname !== null && !HOSTNAME_RE.test(r.hostname)) {
        throw invalid(`machines[${i}].hostname`, `machines[${i}].hostname "${r.hostname}" is not a hostname (letters, digits and -, up to 63 between dots)`);
      }
    });
    return importMachines(db, p.actor, p.branches, rows, req.query.dryRun ?? false);
  });

  app.get<{ Params: MacParams; Querystring: Static<typeof PlanQuery> }>('/v1/machines/:mac/boot-plan', {
    schema: { tags, summary: 'What this machine would boot now: plan and rendered script', params: MacParams, querystring: PlanQuery, response: errors(400, 401, 403, 404) },
  }, async (req) => {
    const p = principal(req);
    need(p, 'read');
    const m = await visibleMachine(db, p, req.params.mac);
    return ctx.planner.plan({ mac: m.mac, arch: req.query.arch ?? 0, ipxe: req.query.ipxe ?? true, branchId: m.branchId ?? undefined, preview: true });
  });

  app.get<{ Params: MacParams }>('/v1/machines/:mac/leases', { schema: { tags, summary: 'Leases this machine holds or held', params: MacParams, response: errors(400, 401, 403, 404) } }, async (req) => {
    const p = principal(req);
    need(p, 'read');
    const m = await visibleMachine(db, p, req.params.mac);
    return { items: await queryLeases(db, p.branches, { mac: m.mac }) };
  });
};
