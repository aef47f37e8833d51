// Registering discovered machines (one or many) into a branch, named by a pattern, with an
// image: what a lab admin does after a new room's first boot. One transaction; the machines,
// the branch (its subnets and the names taken in it) and the image are read once, not per
// machine (it read each machine 3 times and the branch's names once per candidate name:
// 1.1 ms a machine, 230 ms for a room of 200). Same rules, messages and audit rows as before.
import type { Db } from '../db/index.ts';
import type { BootAction } from '../db/schema.ts';
import { HOSTNAME_RE, normalizeMac } from '../util/net.ts';
import { auditMany } from './audit.ts';
import { pairChecker } from './boot-pairs.ts';
import { conflict, forbidden, invalid, notFound } from './admin-errors.ts';
import { reservationProblem } from './inventory/layout.ts';
import { hostnameKey, hostnameTakenMessage } from './hostnames.ts';
import { expandHostname, type MachineView } from './machine-admin.ts';
import { readMachines } from './machine-assign.ts';
import { inScope, type BranchScope } from './scope.ts';

export interface Registration {
  macs: string[];
  branchId: number;
  /** "lab-{n}" or "lab-{n:03}": n counts up from `start`. Absent = keep hostnames. */
  hostnamePattern?: string | undefined;
  start?: number | undefined;
  image?: string | null | undefined;
  version?: number | null | undefined;
  action?: BootAction | null | undefined;
}

/** Turns discovered machines into registered ones of a branch, named by a pattern. */
export async function registerDiscovered(db: Db, actor: string, scope: BranchScope, r: Registration): Promise<MachineView[]> {
  if (!inScope(scope, r.branchId)) throw forbidden(`you may not manage branch ${r.branchId}`);
  if (r.hostnamePattern !== undefined && !/\{n(?::0\d+)?\}/.test(r.hostnamePattern) && r.macs.length > 1) {
    throw invalid('hostnamePattern', 'naming several machines needs {n} in the pattern');
  }
  return db.transaction().execute(async (trx) => {
    const tdb = trx as unknown as Db;
    const norm = r.macs.map((raw) => normalizeMac(raw));
    const found = await readMachines(tdb, [...new Set(norm.filter((m): m is string => m !== undefined))]);
    const branch = await trx.selectFrom('branches').select(['name', 'default_image', 'transport']).where('id', '=', r.branchId).executeTakeFirst();
    const subnets = branch ? await trx.selectFrom('subnets').select('cidr').where('branch_id', '=', r.branchId).execute() : [];
    // The names taken in the branch, by lower-cased name: the machine of the lowest id, as hostnameTakenBy answers.
    const taken = new Map<string, string>();
    for (const m of await trx.selectFrom('machines').select(['mac', 'hostname']).where('branch_id', '=', r.branchId).where('hostname', 'is not', null).orderBy('id').execute()) {
      if (!taken.has(hostnameKey(m.hostname!))) taken.set(hostnameKey(m.hostname!), m.mac);
    }
    const takenByOther = (name: string, mac: string) => { const o = taken.get(hostnameKey(name)); return o !== undefined && o !== mac ? o : undefined; };
    let imageId: number | null | undefined;
    if (r.image === null) imageId = null;
    else if (r.image !== undefined) {
      const img = await trx.selectFrom('images').select('id').where('name', '=', r.image).executeTakeFirst();
      imageId = img?.id;
    }
    const versionOk = new Map<string, boolean>();
    const pairProblem = pairChecker(tdb);
    const now = Date.now();
    const out: MachineView[] = [];
    const writes: { mac: string; cols: Record<string, unknown> }[] = [];
    const audits: Parameters<typeof auditMany>[1] = [];
    const done = new Set<string>();
    let n = r.start ?? 1;
    for (const [i, m] of norm.entries()) {
      const mac = m ?? (() => { throw invalid(`macs[${i}]`, `"${r.macs[i]}" is not a MAC address`); })();
      const cur = found.get(mac);
      if (!cur) throw notFound(`machine ${mac} (macs[${i}]) does not exist`);
      const before = cur.view;
      if (before.state !== 'discovered' || done.has(mac)) throw conflict(`machine ${mac} is already registered`, `macs[${i}]`);
      // A discovered machine with no branch (seen outside every subnet) is visible to unrestricted callers only.
      if (!inScope(scope, before.branchId)) throw forbidden(`machine ${mac} is in a branch you may not manage`);
      let hostname = before.hostname;
      if (r.hostnamePattern !== undefined) {
        // Skip names already taken in the branch, so a second batch continues the numbering.
        do hostname = expandHostname(r.hostnamePattern, n++);
        while (takenByOther(hostname, mac));
        // 253: a DNS name's limit and POST /machines' (RFC 1035 §2.3.4); labels of {n:060} add up.
        if (hostname.length > 253 || !HOSTNAME_RE.test(hostname)) throw invalid('hostnamePattern', `"${hostname}" is not a valid hostname (letters, digits and -, up to 63 between dots, 253 in all)`);
      }
      if (!branch) throw invalid('branchId', `branch ${r.branchId} does not exist`);
      if (before.ip !== null) {
        const why = reservationProblem(before.ip, { name: branch.name, subnets });
        if (why) throw invalid('branchId', why);
      }
      // Named, or moved into the branch with its name: no other machine of the branch may have it.
      if (hostname !== null && (hostname !== before.hostname || before.branchId !== r.branchId)) {
        const other = takenByOther(hostname, mac);
        if (other) throw conflict(hostnameTakenMessage(hostname, branch.name, other), hostname !== before.hostname ? 'hostname' : 'branchId');
      }
      const cols: Record<string, unknown> = { branch_id: r.branchId, state: 'registered', updated_at: now };
      if (r.hostnamePattern !== undefined) cols.hostname = hostname;
      let imageName = before.image;
      let version = cur.image_version;
      if (r.image !== undefined) {
        if (imageId === undefined) throw invalid('image', `image "${r.image}" does not exist`);
        cols.image_id = imageId;
        imageName = r.image;
        if (imageId === null || (r.version === undefined && cur.image_id !== imageId)) version = null;
      }
      if (r.version !== undefined) {
        if (r.version !== null) {
          const img = r.image ?? before.image;
          if (img === null) throw invalid('version', 'a version needs an image');
          let ok = versionOk.get(img);
          if (ok === undefined) {
            const v = await trx.selectFrom('image_versions as v').innerJoin('images as i', 'i.id', 'v.image_id')
              .select('v.state').where('i.name', '=', img).where('v.version', '=', r.version).executeTakeFirst();
            ok = !!v && v.state !== 'removed';
            versionOk.set(img, ok);
          }
          if (!ok) throw invalid('version', `image ${img} has no version ${r.version}`);
        }
        if (r.image !== null) version = r.version;
      }
      cols.image_version = version;
      let action = cur.action;
      if (r.action !== undefined) {
        action = r.action;
        cols.action = r.action;
        // 'once' arms a single image boot; the planner clears it when the root was fetched.
        cols.once_pending = r.action === 'once' ? 1 : 0;
      }
      // The pair as machinePairProblem reads it: a pin is checked against that version's facts.
      const why = await pairProblem(imageName ? (version === null ? imageName : `${imageName}@${version}`) : branch.default_image, cur.own_transport, branch.transport);
      if (why) throw invalid('transport', `machine ${mac}: ${why}`);
      if (before.hostname !== null && taken.get(hostnameKey(before.hostname)) === mac) taken.delete(hostnameKey(before.hostname));
      if (hostname !== null && !taken.has(hostnameKey(hostname))) taken.set(hostnameKey(hostname), mac);
      done.add(mac);
      writes.push({ mac, cols });
      const after: MachineView = {
        ...before, hostname, branchId: r.branchId, branch: branch.name, state: 'registered', image: imageName,
        version: imageName ? version : null, action, updatedAt: now,
      };
      audits.push({ actor, action: 'register', entity: 'machine', entityId: mac, before, after });
      out.push(after);
    }
    // One UPDATE a machine (each has its own name), no reads between them.
    for (const w of writes) await trx.updateTable('machines').set(w.cols as never).where('mac', '=', w.mac).execute();
    await auditMany(trx, audits, now);
    return out;
  });
}
