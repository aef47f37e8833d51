// Bulk assignment: one image / version / boot action for a set of machines (a MAC list or a
// filter), from the API and the console's branch page. One transaction whose statements do not
// grow with the set: the machines are read once (in chunks of the bound-parameter limit), the
// image and its versions once, each distinct image × transport pair checked once, the rows
// written by one UPDATE per distinct change and the audit rows by multi-row INSERTs. It used
// to re-read each machine (view, row, image, version, pair, view again): ~10 statements a
// machine, 190 ms for a school's 200 machines at a district's scale.
import type { Db } from '../db/index.ts';
import type { BootAction, MachineState, Transport } from '../db/schema.ts';
import { normalizeMac } from '../util/net.ts';
import { auditMany } from './audit.ts';
import { pairChecker } from './boot-pairs.ts';
import { forbidden, invalid, notFound } from './admin-errors.ts';
import { macsMatching, type MachineFilter, type MachineView } from './machine-admin.ts';
import { inScope, type BranchScope } from './scope.ts';

export interface Assignment {
  image?: string | null | undefined;
  version?: number | null | undefined;
  action?: BootAction | null | undefined;
}

/** SQLite's bound-parameter limit is 32766 here; chunks of 500 keep every statement small. */
const CHUNK = 500;

export interface Current {
  view: MachineView;
  image_id: number | null;
  image_version: number | null;
  action: BootAction | null;
  once_pending: number;
  own_transport: Transport | null;
  branch_image: string | null;
  branch_transport: Transport | null;
}

/** The machines of `macs` with the stored columns a change compares, in chunks: one read for the set. */
export async function readMachines(db: Db, macs: string[]): Promise<Map<string, Current>> {
  const out = new Map<string, Current>();
  for (let i = 0; i < macs.length; i += CHUNK) {
    const rows = await db.selectFrom('machines as m')
      .leftJoin('branches as b', 'b.id', 'm.branch_id')
      .leftJoin('images as i', 'i.id', 'm.image_id')
      .select([
        'm.mac', 'm.hostname', 'm.branch_id', 'b.name as branch', 'm.state', 'm.fixed_ip', 'i.name as image', 'm.image_id', 'm.image_version',
        'm.action', 'm.once_pending', 'm.transport', 'm.kernel_args', 'm.uuid', 'm.last_arch', 'm.last_firmware', 'm.last_seen_at', 'm.created_at', 'm.updated_at',
        'b.default_image as branch_image', 'b.transport as branch_transport',
      ])
      .where('m.mac', 'in', macs.slice(i, i + CHUNK)).execute();
    for (const r of rows) {
      out.set(r.mac, {
        view: {
          mac: r.mac, hostname: r.hostname, branchId: r.branch_id, branch: r.branch, state: r.state as MachineState, ip: r.fixed_ip,
          image: r.image, version: r.image ? r.image_version : null, action: r.action, transport: r.transport, kernelArgs: r.kernel_args,
          uuid: r.uuid, lastArch: r.last_arch, lastFirmware: r.last_firmware, lastSeenAt: r.last_seen_at, createdAt: r.created_at, updatedAt: r.updated_at,
        },
        image_id: r.image_id, image_version: r.image_version, action: r.action, once_pending: r.once_pending,
        own_transport: r.transport, branch_image: r.branch_image, branch_transport: r.branch_transport,
      });
    }
  }
  return out;
}

/**
 * Gives every machine in the set the same image / version / boot action. The set is a MAC list
 * or a filter; a MAC outside the caller's branches fails the whole request (no partial change).
 * The same rules, messages and audit rows as a PATCH of each machine, in the set's order.
 */
export async function assignMachines(db: Db, actor: string, scope: BranchScope, target: { macs?: string[] | undefined; filter?: MachineFilter | undefined }, a: Assignment): Promise<{ changed: number; macs: string[] }> {
  return db.transaction().execute(async (trx) => {
    const tdb = trx as unknown as Db;
    let macs: string[];
    if (target.macs) {
      macs = [...new Set(target.macs.map((raw, i) => normalizeMac(raw) ?? (() => { throw invalid(`macs[${i}]`, `"${raw}" is not a MAC address`); })()))];
    } else {
      macs = await macsMatching(tdb, scope, target.filter ?? {});
    }
    const found = await readMachines(tdb, macs);
    macs.forEach((mac, i) => {
      const r = found.get(mac);
      if (!r) throw notFound(`machine ${mac} (macs[${i}]) does not exist`);
      if (!inScope(scope, r.view.branchId)) throw forbidden(`machine ${mac} is in a branch you may not manage`);
    });

    // The image named, once.
    let imageId: number | null | undefined;
    if (a.image === null) imageId = null;
    else if (a.image !== undefined) {
      const img = await trx.selectFrom('images').select('id').where('name', '=', a.image).executeTakeFirst();
      if (!img) throw invalid('image', `image "${a.image}" does not exist`);
      imageId = img.id;
    }
    // A pinned version must exist in the image each machine ends up with: once per image name.
    const versionOk = new Map<string, boolean>();
    const hasVersion = async (image: string, version: number): Promise<boolean> => {
      let ok = versionOk.get(image);
      if (ok === undefined) {
        const v = await trx.selectFrom('image_versions as v').innerJoin('images as i', 'i.id', 'v.image_id')
          .select('v.state').where('i.name', '=', image).where('v.version', '=', version).executeTakeFirst();
        ok = !!v && v.state !== 'removed';
        versionOk.set(image, ok);
      }
      return ok;
    };
    const pairProblem = pairChecker(tdb);

    const now = Date.now();
    const groups = new Map<string, { cols: Record<string, unknown>; macs: string[] }>();
    const audits: Parameters<typeof auditMany>[1] = [];
    for (const mac of macs) {
      const cur = found.get(mac)!;
      const cols: Record<string, unknown> = {};
      let imageName = cur.view.image;
      if (imageId !== undefined) {
        cols.image_id = imageId;
        imageName = a.image ?? null;
        if (imageId === null) cols.image_version = null;
        // A version pin belongs to its image: moved to another image without a version, the
        // machine follows that image's current one (not "other@3", which may not exist).
        else if (a.version === undefined && cur.image_id !== imageId) cols.image_version = null;
      }
      if (a.version !== undefined) {
        if (a.version !== null) {
          // As a PATCH checks it: against the image named, else the machine's own.
          const img = a.image ?? cur.view.image;
          if (img === null) throw invalid('version', 'a version needs an image');
          if (!(await hasVersion(img, a.version))) throw invalid('version', `image ${img} has no version ${a.version}`);
        }
        if (a.image !== null) cols.image_version = a.version;
      }
      if (a.action !== undefined) {
        cols.action = a.action;
        // 'once' arms a single image boot; the planner clears it when the root was fetched.
        cols.once_pending = a.action === 'once' ? 1 : 0;
      }
      const stored: Record<string, unknown> = { image_id: cur.image_id, image_version: cur.image_version, action: cur.action, once_pending: cur.once_pending };
      // A re-run that changes nothing must not bump updated_at (in other admins' ETags) nor audit.
      if (!Object.entries(cols).some(([k, v]) => stored[k] !== v)) continue;
      const next = { ...stored, ...cols };
      // The pair as machinePairProblem reads it: a pin is checked against that version's facts.
      const pin = next.image_version as number | null;
      const why = await pairProblem(imageName ? (pin === null ? imageName : `${imageName}@${pin}`) : cur.branch_image, cur.own_transport, cur.branch_transport);
      if (why) throw invalid('transport', `machine ${mac}: ${why}`);
      const key = JSON.stringify(cols);
      const g = groups.get(key) ?? { cols, macs: [] };
      g.macs.push(mac);
      groups.set(key, g);
      const after: MachineView = {
        ...cur.view, image: imageName, version: imageName ? next.image_version as number | null : null, action: next.action as BootAction | null, updatedAt: now,
      };
      audits.push({ actor, action: 'assign', entity: 'machine', entityId: mac, before: cur.view, after });
    }
    for (const g of groups.values()) {
      for (let i = 0; i < g.macs.length; i += CHUNK) {
        await trx.updateTable('machines').set({ ...g.cols, updated_at: now } as never).where('mac', 'in', g.macs.slice(i, i + CHUNK)).execute();
      }
    }
    await auditMany(trx, audits, now);
    return { changed: audits.length, macs };
  });
}

