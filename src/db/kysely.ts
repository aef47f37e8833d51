// Kysely's values. The built tree loads them from one file that `npm run build` bundles with
// esbuild (dist/vendor/kysely.cjs): ~30 ms here, against ~90 ms for the ~260 files of Kysely's
// CommonJS build and ~170 ms for its ESM build, paid by every CLI command and by serve. From the
// sources (tsx: tests, benchmarks) it is the package itself, the same code.
// Every run-time use of Kysely imports from here, so that one copy of it is loaded; types may
// still come from 'kysely' (import type costs nothing).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const bundled = fileURLToPath(new URL('../vendor/kysely.cjs', import.meta.url));
const kysely = require(existsSync(bundled) ? bundled : 'kysely') as typeof import('kysely');

export const { Kysely, SqliteDialect, sql, CompiledQuery } = kysely;
