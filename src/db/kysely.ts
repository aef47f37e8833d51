// Kysely's values, from its CommonJS build: it loads in ~90 ms here against ~170 ms for its ESM
// build (about 260 modules through the ESM loader), paid by every CLI command and by serve.
// Every run-time use of Kysely imports from here, so that one copy of it is loaded; types may
// still come from 'kysely' (import type costs nothing).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const kysely = require('kysely') as typeof import('kysely');

export const { Kysely, SqliteDialect, sql, CompiledQuery } = kysely;
