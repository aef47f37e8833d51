// Kysely's values are loaded once, from its CommonJS build (src/db/kysely.ts): a value import
// from 'kysely' elsewhere would load its ESM build too (~260 more modules per CLI start) and
// mix two copies of its classes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

test("src/ imports Kysely's values only through src/db/kysely.ts", () => {
  const offenders: string[] = [];
  for (const rel of fs.readdirSync(SRC, { recursive: true }) as string[]) {
    if (!rel.endsWith('.ts') || rel === path.join('db', 'kysely.ts')) continue;
    const text = fs.readFileSync(path.join(SRC, rel), 'utf8');
    for (const m of text.matchAll(/^import\s+(type\s+)?([^;]*?)\s+from\s+['"]kysely['"]/gm)) {
      // `import type …` and `import { type A, type B }` are erased; anything else loads the module.
      const names = m[2]!.replace(/^\{|\}$/g, '').split(',').map((s) => s.trim()).filter(Boolean);
      if (!m[1] && !names.every((n) => n.startsWith('type '))) offenders.push(`${rel}: ${m[0]}`);
    }
  }
  assert.deepEqual(offenders, []);
});
