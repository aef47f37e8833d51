// Bulk import of machines (CSV or JSON rows in the inventory file's machine shape). Validation
// is the inventory parser's; the change is the inventory's apply, limited to machines, so a
// dry run lists exactly what the real run would do. Rows are full definitions: a field left
// out is cleared, as in the inventory file.
import type { Db } from '../db/index.ts';
import { HostnameTaken, applyInventory } from './inventory/apply.ts';
import { parseInventory } from './inventory/parse.ts';
import type { NMachine } from './inventory/normal.ts';
import type { MachineSpec } from './inventory/schema.ts';
import { conflict, forbidden, invalid } from './admin-errors.ts';
import { fieldError } from './branches.ts';
import { inScope, type BranchScope } from './scope.ts';

export interface ImportChange {
  op: 'create' | 'update';
  mac: string;
  fields: string[];
  before: NMachine | null;
  after: NMachine;
}

export interface ImportResult { dryRun: boolean; applied: boolean; changes: ImportChange[]; unchanged: number }

export async function importMachines(db: Db, actor: string, scope: BranchScope, rows: MachineSpec[], dryRun: boolean): Promise<ImportResult> {
  let machines: NMachine[];
  try {
    machines = parseInventory(JSON.stringify({ machines: rows }), 'body').machines;
  } catch (err) {
    throw fieldError(err, '');
  }
  const branches = new Map((await db.selectFrom('branches').select(['id', 'name']).execute()).map((b) => [b.name, b.id]));
  const images = new Set((await db.selectFrom('images').select('name').execute()).map((i) => i.name));
  const existing = new Map((await db.selectFrom('machines').select(['mac', 'branch_id']).where('mac', 'in', machines.length ? machines.map((m) => m.mac) : ['']).execute()).map((m) => [m.mac, m.branch_id]));
  machines.forEach((m, i) => {
    const bid = branches.get(m.branch);
    if (bid === undefined) throw invalid(`machines[${i}].branch`, `branch "${m.branch}" does not exist`);
    if (m.image && !images.has(m.image)) throw invalid(`machines[${i}].image`, `image "${m.image}" does not exist`);
    if (!inScope(scope, bid)) throw forbidden(`machines[${i}]: you may not manage branch ${m.branch}`);
    if (existing.has(m.mac) && !inScope(scope, existing.get(m.mac)!)) throw forbidden(`machines[${i}]: machine ${m.mac} is in a branch you may not manage`);
  });
  const r = await applyInventory(db, { branches: [], images: [], machines }, { dryRun, actor }).catch((err: unknown) => {
    if (err instanceof HostnameTaken) throw conflict(err.detail, `machines[${err.index}].hostname`);
    throw err;
  });
  const changes: ImportChange[] = r.diff.machines.flatMap((c): ImportChange[] => {
    if (c.op === 'create') return [{ op: 'create', mac: c.key, fields: Object.keys(c.after), before: null, after: c.after }];
    if (c.op === 'update') return [{ op: 'update', mac: c.key, fields: c.fields, before: c.before, after: c.after }];
    return [];
  });
  return { dryRun, applied: r.applied, changes, unchanged: machines.length - changes.length };
}

/** RFC 4180 CSV: quoted fields, "" escapes, CRLF or LF. The first row names the columns. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { cell += '"'; i++; } else quoted = false;
      } else cell += ch;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); cell = '';
      if (row.some((c) => c !== '')) rows.push(row);
      row = [];
    } else cell += ch;
  }
  row.push(cell);
  if (row.some((c) => c !== '')) rows.push(row);
  return rows;
}

const CSV_COLUMNS = ['mac', 'hostname', 'branch', 'ip', 'image', 'action', 'transport', 'kernelArgs'] as const;

/** CSV rows → machine specs; empty cells are left out. */
export function csvToMachineSpecs(text: string): MachineSpec[] {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  if (rows.length === 0) return [];
  const header = rows[0]!.map((h) => h.trim());
  header.forEach((h, i) => {
    if (!(CSV_COLUMNS as readonly string[]).includes(h)) throw invalid(`columns[${i}]`, `unknown column "${h}" (known: ${CSV_COLUMNS.join(', ')})`);
  });
  if (!header.includes('mac') || !header.includes('branch')) throw invalid('columns', 'the header row needs at least mac and branch');
  return rows.slice(1).map((r) => {
    const o: Record<string, string> = {};
    header.forEach((h, i) => { const v = (r[i] ?? '').trim(); if (v !== '') o[h] = v; });
    return o as unknown as MachineSpec;
  });
}
