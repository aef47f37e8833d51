// Byte sources for an import: ranges of a file (a raw image, or a squashfs inside an ISO) and
// a qcow2 converted while reading (nbdcopy from a private qemu-nbd on a Unix socket: no TCP
// port, no temporary raw copy).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { ImageInputError } from './probe.ts';

const run = promisify(execFile);
const READ_SIZE = 1024 * 1024;

/**
 * A stream the import pulls into buffers of its own choosing: the chunker's shared blocks. A
 * file is read straight into them, where a stream of pieces cost the main thread a copy of
 * every byte (78 ms of CPU and the page faults of a 470 MB squashfs, perf).
 */
export interface ByteReader {
  /** Reads up to `length` bytes into `into` at `at`; 0 only at the end. */
  read(into: Uint8Array, at: number, length: number): Promise<number>;
  /** Lets go of the source (an open file, a converter): read to the end or not. */
  close(): Promise<void>;
}

/** Ranges of a file, in order (a raw image, or a squashfs's extents inside an ISO). */
export function fileRanges(file: string, ranges: readonly { start: number; length: number }[]): ByteReader {
  let fh: fs.FileHandle | undefined;
  let i = 0;
  let pos = ranges[0]?.start ?? 0;
  return {
    async read(into, at, length) {
      while (i < ranges.length && pos === ranges[i]!.start + ranges[i]!.length) pos = ranges[++i]?.start ?? 0;
      if (i === ranges.length || length === 0) return 0;
      fh ??= await fs.open(file, 'r');
      const end = ranges[i]!.start + ranges[i]!.length;
      const { bytesRead } = await fh.read(into, at, Math.min(length, end - pos), pos);
      if (bytesRead === 0) throw new ImageInputError(`${file}: ended at byte ${pos}, expected data up to ${end} (file truncated while reading?)`);
      pos += bytesRead;
      return bytesRead;
    },
    async close() {
      await fh?.close();
      fh = undefined;
    },
  };
}

/** A stream of pieces (qcow2 through nbdcopy, a test's data), copied into the reader's buffers. */
export function fromPieces(source: AsyncIterable<Uint8Array>): ByteReader {
  const it = source[Symbol.asyncIterator]();
  let piece: Uint8Array | undefined;
  let off = 0;
  let done = false;
  return {
    async read(into, at, length) {
      while (!done && (!piece || off === piece.length)) {
        const r = await it.next();
        done = r.done === true;
        piece = r.value;
        off = 0;
      }
      if (done || length === 0) return 0;
      const n = Math.min(length, piece!.length - off);
      into.set(piece!.subarray(off, off + n), at);
      off += n;
      return n;
    },
    // The generator's finally (a converter's processes, its socket folder) runs now, not at exit.
    async close() {
      if (!done) await it.return?.();
      done = true;
    },
  };
}

/** `source`, then `zeros` zero bytes. */
export function zeroPadded(source: ByteReader, zeros: number): ByteReader {
  let left = zeros;
  let ended = false;
  return {
    async read(into, at, length) {
      if (!ended) {
        const n = await source.read(into, at, length);
        if (n > 0) return n;
        ended = true;
      }
      const n = Math.min(left, length);
      into.fill(0, at, at + n);
      left -= n;
      return n;
    },
    close: () => source.close(),
  };
}

/** Yields one reused buffer: each piece is valid until the consumer asks for the next (blob writers and the ISO's initrd reader are done with it by then). */
export async function* readRanges(file: string, ranges: { start: number; length: number }[]): AsyncGenerator<Buffer> {
  const reader = fileRanges(file, ranges);
  const big = Buffer.allocUnsafeSlow(READ_SIZE);
  try {
    for (let n; (n = await reader.read(big, 0, READ_SIZE)) > 0;) yield n === READ_SIZE ? big : big.subarray(0, n);
  } finally {
    await reader.close();
  }
}

export async function qcow2Size(file: string): Promise<number> {
  try {
    const { stdout } = await run('qemu-img', ['info', '--output=json', '-f', 'qcow2', file]);
    const info = JSON.parse(stdout) as { 'virtual-size'?: number; 'backing-filename'?: string };
    if (typeof info['virtual-size'] !== 'number') throw new ImageInputError(`${file}: qemu-img info gave no virtual size`);
    return info['virtual-size'];
  } catch (err) {
    if (err instanceof ImageInputError) throw err;
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new ImageInputError('importing qcow2 needs qemu-img (Debian package qemu-utils)');
    throw new ImageInputError(`${file}: not a usable qcow2 image: ${(e.stderr ?? e.message).trim().split('\n')[0]}`);
  }
}

/** Collects a child's stderr (bounded) and its exit; ENOENT becomes the missing package's name. */
function watch(child: ChildProcess, missing: string): { stderr: () => string; exited: Promise<number | null> } {
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 4000) stderr += d; });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new ImageInputError(missing) : e));
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => {});
  return { stderr: () => stderr.trim().split('\n').slice(-2).join('; '), exited };
}

/** Resolves once `file` exists; rejects if `exited` settles first or after 30 s. */
async function appears(file: string, exited: Promise<number | null>, what: string): Promise<void> {
  let settled = false;
  exited.then(() => { settled = true; }, () => { settled = true; });
  for (const t0 = Date.now(); Date.now() - t0 < 30_000;) {
    if (await fs.access(file).then(() => true, () => false)) return;
    // `await exited` rethrows a failed start (the missing package).
    if (settled) throw new ImageInputError(`${what} exited (${await exited}) before it was ready`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new ImageInputError(`${what} was not ready after 30 s`);
}

/**
 * The raw content of a qcow2 image, streamed. Throws if the converter fails or the length is
 * wrong. qemu-nbd serves it on a socket in a folder of ours and nbdcopy reads it: nbdcopy could
 * start qemu-nbd itself (socket activation), but libnbd 1.14 then leaves its /tmp/libnbdXXXXXX
 * behind whenever the copy fails or is stopped; this folder goes whatever happens.
 */
export async function* readQcow2(file: string, size: number): AsyncGenerator<Buffer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bb-qcow2-'));
  const sock = path.join(dir, 'sock');
  const pidFile = path.join(dir, 'pid');
  let server: ChildProcess | undefined;
  let copy: ChildProcess | undefined;
  try {
    // The pid file is written once the socket listens: the client may connect from then on.
    server = spawn('qemu-nbd', ['-r', '-f', 'qcow2', `--socket=${sock}`, `--pid-file=${pidFile}`, file], { stdio: ['ignore', 'ignore', 'pipe'] });
    const srv = watch(server, 'importing qcow2 needs qemu-nbd (Debian package qemu-utils)');
    await appears(pidFile, srv.exited, 'qemu-nbd').catch(async (err: unknown) => {
      await srv.exited.catch(() => {});
      throw err instanceof ImageInputError && srv.stderr() ? new ImageInputError(`${file}: not a usable qcow2 image: ${srv.stderr()}`) : err;
    });
    copy = spawn('nbdcopy', [`nbd+unix:///?socket=${encodeURIComponent(sock)}`, '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const cp = watch(copy, 'importing qcow2 needs nbdcopy (Debian package libnbd-bin)');
    let got = 0;
    for await (const data of copy.stdout as AsyncIterable<Buffer>) {
      got += data.length;
      yield data;
    }
    const code = await cp.exited;
    if (code !== 0) throw new ImageInputError(`${file}: qcow2 conversion failed (nbdcopy exit ${code}): ${srv.stderr() || cp.stderr()}`);
    if (got !== size) throw new ImageInputError(`${file}: qcow2 conversion gave ${got} bytes, its virtual size is ${size}`);
  } finally {
    // Early stop (error in the store): the converter must not linger.
    for (const child of [copy, server]) if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
  }
}
