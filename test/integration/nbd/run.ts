// Runs a real client with a hard timeout (the child is killed by PID when it expires).
import { execFile, spawnSync } from 'node:child_process';

export interface RunResult { code: number | null; stdout: string; stderr: string }

/** `signal` ends the client early (SIGKILL), for one that would otherwise sit out its own sleep. */
export function run(cmd: string, args: string[], timeoutMs = 60_000, signal?: AbortSignal): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', ...(signal && { signal }) }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** libnbd's Python bindings live in Debian's python3, not in whatever python3 is first on PATH. */
export const PYTHON = '/usr/bin/python3';
export function havePythonNbd(): boolean {
  return spawnSync(PYTHON, ['-c', 'import nbd']).status === 0;
}
