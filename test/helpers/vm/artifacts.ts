// Where a VM test leaves its console logs and server output, so a failure can be read after
// the run (.test-artifacts/ is ignored by git and lint).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function artifactDir(testName: string): string {
  const dir = path.join(PROJECT_ROOT, '.test-artifacts', 'e2e', testName.replace(/[^\w.-]+/g, '-'));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export { PROJECT_ROOT };
