// Byte sources for an import: ranges of a file (a raw image, or a squashfs inside an ISO) and
// a qcow2 converted while reading (nbdcopy from a private qemu-nbd over socket activation:
// no TCP port, no temporary raw copy).
import fs from 'node:fs/promises';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ImageInputError } from './probe.ts';

const run = promisify(execFile);
const READ_SIZE = 1024 * 1024;

/** Yields one reused buffer: each piece is valid until the consumer asks for the next (chunkers and blob writers are done with it by then). */
export async function* readRanges(file: string, ranges: { start: number; length: number }[]): AsyncGenerator<Buffer> {
  const fh = await fs.open(file, 'r');
  const big = Buffer.allocUnsafeSlow(READ_SIZE);
  try {
    for (const r of ranges) {
      let pos = r.start;
      const end = r.start + r.length;
      while (pos < end) {
        const buf = big.subarray(0, Math.min(READ_SIZE, end - pos));
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) throw new ImageInputError(`${file}: ended at byte ${pos}, expected data up to ${end} (file truncated while reading?)`);
        pos += bytesRead;
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      }
    }
  } finally {
    await fh.close();
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

/** The raw content of a qcow2 image, streamed. Throws if the converter fails or the length is wrong. */
export async function* readQcow2(file: string, size: number): AsyncGenerator<Buffer> {
  const child = spawn('nbdcopy', ['--', '[', 'qemu-nbd', '-r', '-f', 'qcow2', file, ']', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 4000) stderr += d; });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new ImageInputError('importing qcow2 needs nbdcopy and qemu-nbd (Debian packages libnbd-bin, qemu-utils)') : e));
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => {});
  let got = 0;
  try {
    for await (const data of child.stdout as AsyncIterable<Buffer>) {
      got += data.length;
      yield data;
    }
    const code = await exited;
    if (code !== 0) throw new ImageInputError(`${file}: qcow2 conversion failed (nbdcopy exit ${code}): ${stderr.trim().split('\n').slice(-2).join('; ')}`);
    if (got !== size) throw new ImageInputError(`${file}: qcow2 conversion gave ${got} bytes, its virtual size is ${size}`);
  } finally {
    // Early stop (error in the store): the converter must not linger.
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
