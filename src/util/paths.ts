import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The checkout (or installed package) root: src/util/ and dist/util/ are both two levels down. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'migrations');
export const TEMPLATES_DIR = path.join(PROJECT_ROOT, 'templates');
export const WEB_DIR = path.join(PROJECT_ROOT, 'web');
