// What `apply` would change: a list of creates, updates (field by field) and removals.
import type { NBranch, NImage, NInventory, NMachine } from './normal.ts';

export type Kind = 'branch' | 'image' | 'machine';

export type Change<T> =
  | { op: 'create'; kind: Kind; key: string; after: T }
  | { op: 'update'; kind: Kind; key: string; before: T; after: T; fields: string[] }
  | { op: 'remove'; kind: Kind; key: string; before: T };

export interface InventoryDiff {
  branches: Change<NBranch>[];
  images: Change<NImage>[];
  machines: Change<NMachine>[];
}

function changedFields<T extends object>(a: T, b: T): string[] {
  return (Object.keys(b) as (keyof T)[]).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map(String);
}

function diffList<T extends object>(kind: Kind, current: T[], wanted: T[], key: (t: T) => string, prune: boolean): Change<T>[] {
  const have = new Map(current.map((c) => [key(c), c]));
  const out: Change<T>[] = [];
  for (const w of wanted) {
    const k = key(w);
    const c = have.get(k);
    if (!c) out.push({ op: 'create', kind, key: k, after: w });
    else {
      const fields = changedFields(c, w);
      if (fields.length) out.push({ op: 'update', kind, key: k, before: c, after: w, fields });
    }
    have.delete(k);
  }
  if (prune) for (const [k, c] of have) out.push({ op: 'remove', kind, key: k, before: c });
  return out;
}

export function diffInventory(current: NInventory, wanted: NInventory, prune: boolean): InventoryDiff {
  return {
    branches: diffList('branch', current.branches, wanted.branches, (b) => b.name, prune),
    images: diffList('image', current.images, wanted.images, (i) => i.name, prune),
    machines: diffList('machine', current.machines, wanted.machines, (m) => m.mac, prune),
  };
}

export function diffIsEmpty(d: InventoryDiff): boolean {
  return d.branches.length + d.images.length + d.machines.length === 0;
}

/** One line per change, for --dry-run and for apply's own report. */
export function formatDiff(d: InventoryDiff): string[] {
  const lines: string[] = [];
  for (const c of [...d.branches, ...d.images, ...d.machines] as Change<object>[]) {
    if (c.op === 'create') lines.push(`+ ${c.kind} ${c.key}`);
    else if (c.op === 'remove') lines.push(`- ${c.kind} ${c.key}`);
    else {
      const parts = c.fields.map((f) => `${f}: ${show((c.before as Record<string, unknown>)[f])} → ${show((c.after as Record<string, unknown>)[f])}`);
      lines.push(`~ ${c.kind} ${c.key}: ${parts.join('; ')}`);
    }
  }
  return lines;
}

function show(v: unknown): string {
  if (v === null || v === undefined || v === '') return '(none)';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}
