// The project's native addons (binding.gyp, built by `npm install` into build/Release/): each
// has a fallback, so a missing build is an answer, not a crash. An environment variable names
// another build of the same source instead: the AddressSanitizer test's (test/integration/udp/asan.test.ts).
import { createRequire } from 'node:module';
import path from 'node:path';

const RELEASE = path.resolve(import.meta.dirname, '../../build/Release');

/** The addon `name` (branchboot_udp, …), or why it could not be loaded. */
export function loadAddon<T>(name: string, envVar: string): T | Error {
  try {
    return createRequire(import.meta.url)(process.env[envVar] ?? path.join(RELEASE, `${name}.node`)) as T;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
