// A machine's boot as branchboot recorded it (boot_events), read straight from the SQLite
// file while the server runs: read-only, so it never contends with the server's writes.
import Database from 'better-sqlite3';

export interface TimelineEvent { id: number; at: number; mac: string | null; ip: string | null; stage: string; detail: string }

export class TimelineReader {
  private db: Database.Database | undefined;
  private lastId = 0;
  constructor(private readonly file: string) {}

  /** Events newer than the last call (all of them the first time), oldest first. */
  next(mac?: string): TimelineEvent[] {
    try {
      this.db ??= new Database(this.file, { readonly: true, fileMustExist: true });
      const rows = this.db.prepare('SELECT id, at, mac, ip, stage, detail FROM boot_events WHERE id > ? ORDER BY id').all(this.lastId) as TimelineEvent[];
      const last = rows[rows.length - 1];
      if (last) this.lastId = last.id;
      const all = rows.flatMap(withOffer);
      return mac ? all.filter((r) => r.mac === null || r.mac.toLowerCase() === mac.toLowerCase()) : all;
    } catch {
      return [];   // the server has not created the table yet
    }
  }

  close(): void { this.db?.close(); this.db = undefined; }
}

/** DHCP stores an exchange as its ACK's row, the OFFER in detail.offeredAt (dhcp/event-log.ts): both stages in a timeline. */
function withOffer(e: TimelineEvent): TimelineEvent[] {
  if (e.stage !== 'dhcp.ack') return [e];
  let d: { offeredAt?: unknown; offeredIp?: unknown };
  try { d = JSON.parse(e.detail) as typeof d; } catch { return [e]; }
  if (typeof d.offeredAt !== 'number') return [e];
  const ip = typeof d.offeredIp === 'string' ? d.offeredIp : e.ip;
  return [{ ...e, stage: 'dhcp.offer', at: d.offeredAt, ip }, e];
}

export function formatEvent(e: TimelineEvent, t0: number): string {
  let detail = '';
  try {
    const d = JSON.parse(e.detail) as Record<string, unknown>;
    detail = Object.entries(d).filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object').map(([k, v]) => `${k}=${String(v)}`).join(' ');
  } catch { detail = e.detail; }
  return `+${((e.at - t0) / 1000).toFixed(1).padStart(5)} s  ${e.stage.padEnd(14)} ${e.ip ?? ''}  ${detail}`.trimEnd();
}
