// The later steps of a boot, as seen by whoever serves the bytes: kernel, initrd, root (HTTP),
// NBD connect. Each becomes a boot event; the first root fetch also uses up a pending "once"
// boot (markRootFetched), so the machine's next boot is its local disk.
import type { Db } from '../db/index.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../log.ts';
import { getMachine, macForIp, markRootFetched } from '../model/boot-queries.ts';
import { branchOfLeasedIp } from '../model/lease-lookup.ts';
import { dbTargetLookups, resolveImage, resolveTarget } from './resolve.ts';

export type FetchKind = 'kernel' | 'initrd' | 'root';

export interface ImageFetch {
  kind: FetchKind;
  image: string;
  version: string;
}

/** /images/NAME/VERSION/vmlinuz | initrd.img | <root file> (src/store/urls.ts); index and chunks are not boot steps. */
export function classifyImagePath(urlPath: string): ImageFetch | undefined {
  const m = /^\/images\/([^/?#]+)\/(current|\d+)\/([^/?#]+)(?:[?#].*)?$/.exec(urlPath);
  if (!m) return undefined;
  let image: string;
  let file: string;
  try { image = decodeURIComponent(m[1]!); file = decodeURIComponent(m[3]!); } catch { return undefined; }
  const kind: FetchKind = file === 'vmlinuz' ? 'kernel' : file === 'initrd.img' ? 'initrd' : 'root';
  return { kind, image, version: m[2]! };
}

export interface FetchRecorderDeps {
  db: Db;
  events: Pick<EventBus, 'record'> & Partial<Pick<EventBus, 'recentMacFor'>>;
  log: Logger;
}

export interface FetchRecorder {
  /** An HTTP response for an image file went out (status 200/206). Never throws. */
  http(req: { path: string; ip: string; status: number; range?: string | undefined }): Promise<void>;
  /** An NBD client opened an export (the NBD server calls this). Never throws. */
  nbdConnect(c: { ip: string; exportName: string; mac?: string | undefined }): Promise<void>;
}

/**
 * httpfs and casync read the root with thousands of Range requests: one http.root event per
 * (client, image, version) a minute is the step; the rest is traffic.
 */
const REPEAT_MS = 60_000;

export function createFetchRecorder(deps: FetchRecorderDeps): FetchRecorder {
  const seen = new Map<string, number>();
  const fresh = (key: string, now: number) => {
    const last = seen.get(key);
    if (last !== undefined && now - last < REPEAT_MS) return false;
    if (seen.size > 10_000) for (const [k, t] of seen) if (now - t >= REPEAT_MS) seen.delete(k);
    seen.set(key, now);
    return true;
  };

  /** The machine's branch; for a machine not registered yet, the branch that leased it the address. */
  async function branchOf(mac: string | undefined, ip: string): Promise<number | null> {
    const own = mac ? (await getMachine(deps.db, mac))?.branch_id : undefined;
    return own ?? (await branchOfLeasedIp(deps.db, ip)) ?? null;
  }

  async function rootFetched(ip: string, mac: string | undefined, stage: string, detail: Record<string, unknown>): Promise<void> {
    const branchId = await branchOf(mac, ip);
    deps.events.record({ mac: mac ?? null, ip, branchId, stage, detail });
    if (mac && await markRootFetched(deps.db, mac)) {
      deps.events.record({ mac, ip, branchId, stage: 'boot.once-done', detail });
    }
  }

  /**
   * An nfs or cifs root is read from the system's NFS server or Samba, an nbd root from the
   * branch's own NBD server (server_nbd), which tell us nothing: for those, the initrd download
   * is the last step we see, so it uses up a pending "once" (last-step.ts; when server_nbd is in
   * fact this server, a few seconds before the NBD connect would).
   */
  async function onceViaShare(mac: string, ip: string, detail: Record<string, unknown>): Promise<void> {
    const m = await getMachine(deps.db, mac);
    if (m?.once_pending !== 1) return;
    const t = await resolveTarget(dbTargetLookups(deps.db), mac);
    if (!t.ok) return;
    const img = await resolveImage(deps.db, t.value);
    const elsewhere = img.ok && (img.value.transport === 'nfs' || img.value.transport === 'cifs' || (img.value.transport === 'nbd' && Boolean(t.value.branch?.server_nbd)));
    if (!img.ok || !elsewhere) return;
    if (await markRootFetched(deps.db, mac)) {
      deps.events.record({ mac, ip, branchId: m.branch_id, stage: 'boot.once-done', detail: { ...detail, transport: img.value.transport } });
    }
  }

  return {
    async http(r) {
      try {
        if (r.status !== 200 && r.status !== 206) return;
        const f = classifyImagePath(r.path);
        if (!f) return;
        const now = Date.now();
        if (!fresh(`${r.ip}|${f.kind}|${f.image}|${f.version}`, now)) return;
        const mac = await macForIp(deps.db, r.ip, now, deps.events.recentMacFor);
        const detail = { image: f.image, version: f.version, status: r.status, ...(r.range && { range: r.range }) };
        if (f.kind === 'root') await rootFetched(r.ip, mac, 'http.root', detail);
        else deps.events.record({ mac: mac ?? null, ip: r.ip, branchId: await branchOf(mac, r.ip), stage: `http.${f.kind}`, detail });
        if (f.kind === 'initrd' && mac) await onceViaShare(mac, r.ip, detail);
      } catch (err) {
        deps.log.warn({ err, path: r.path }, 'could not record an image fetch');
      }
    },
    async nbdConnect(c) {
      try {
        const mac = c.mac ?? await macForIp(deps.db, c.ip, Date.now(), deps.events.recentMacFor);
        await rootFetched(c.ip, mac, 'nbd.connect', { export: c.exportName });
      } catch (err) {
        deps.log.warn({ err, export: c.exportName }, 'could not record an NBD connect');
      }
    },
  };
}
