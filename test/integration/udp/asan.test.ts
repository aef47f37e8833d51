// native/udp.c, native/lockstep.c, native/scan.c, native/chunk-hash.c and native/syncfs.c under AddressSanitizer and UndefinedBehaviorSanitizer: the same source built
// with -fsanitize, loaded in place of the release build, through the tests that drive it
// hardest (the socket contract, worker teardown, the EAGAIN queue, TFTP's fuzz test, transfer
// threads, DHCP over real sockets; the import's scan tests). Any report fails the test. It found a read of freed memory
// on a second close() before the socket's memory was tied to its JavaScript handle's lifetime,
// and memcpy given NULL for an empty Buffer (sendLater of a zero-length datagram).
// float-cast-overflow is asked for by name: GCC's -fsanitize=undefined leaves it out, and the
// addons turn JavaScript numbers into C integers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const runtime = (lib: string) => spawnSync('gcc', [`-print-file-name=${lib}`], { encoding: 'utf8' }).stdout.trim();
const libs = ['libasan.so', 'libubsan.so'].map(runtime);
const skip = process.platform !== 'linux' || libs.some((l) => !path.isAbsolute(l) || !fs.existsSync(l)) ? 'needs gcc with libasan and libubsan' : undefined;

/** Builds `sources` with the sanitizers into a stand-in addon, and runs `tests` with `envVar` naming it. */
function cleanUnderSanitizers(addonName: string, sources: string[], envVar: string, tests: string[]): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-asan-'));
  try {
    const addon = path.join(dir, addonName);
    execFileSync('gcc', ['-shared', '-fPIC', '-O1', '-g', '-fsanitize=address,undefined,float-cast-overflow', '-fno-sanitize-recover=undefined,float-cast-overflow',
      '-fno-omit-frame-pointer', '-Wall', '-Werror', '-I/usr/include/node', ...sources.map((f) => path.join(ROOT, f)), '-o', addon]);
    // NODE_TEST_CONTEXT would make the inner runner report to this one in its binary format.
    const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=1', ...tests], {
      cwd: ROOT, encoding: 'utf8', timeout: 560_000,
      env: {
        ...env, [envVar]: addon, LD_PRELOAD: libs.join(':'),
        // Node itself is not built with ASan: leaks of its own at exit are not ours to report.
        ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
      },
    });
    const out = `${r.stdout}\n${r.stderr}`;
    const report = /ERROR: AddressSanitizer[^\n]*|runtime error[^\n]*/.exec(out);
    assert.equal(report, null, `sanitizer report: ${report?.[0]}\n${out.slice(out.indexOf(report?.[0] ?? '\0'), 4000)}`);
    // The inner run's failures, wherever they are in its output (its tail is only the summary).
    const failures = r.stdout.split('\n').flatMap((line, i, all) => (/^\s*not ok /.test(line) && !/# SKIP/.test(line) ? all.slice(i, i + 25) : [])).join('\n');
    assert.equal(r.status, 0, `${failures.slice(0, 6000)}\n…\n${out.slice(-1500)}`);
    assert.match(r.stdout, /# fail 0/);
    assert.match(r.stdout, /# pass [1-9]/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The batch hash of chunk ids: every length class, and the import through the chunk workers.
test('the native chunk hash is clean under AddressSanitizer and UBSan', { skip, timeout: 600_000 }, () => {
  cleanUnderSanitizers('branchboot_hash.node', ['native/chunk-hash.c'], 'BRANCHBOOT_HASH_ADDON', ['test/unit/store/chunk-hash.test.ts', 'test/unit/store/parallel-cuts.test.ts']);
});

test('native UDP sockets are clean under AddressSanitizer and UBSan', { skip, timeout: 600_000 }, () => {
  cleanUnderSanitizers('branchboot_udp.node', ['native/udp.c', 'native/lockstep.c'], 'BRANCHBOOT_UDP_ADDON', [
    'test/unit/udp/socket.test.ts', 'test/unit/udp/lockstep.test.ts', 'test/unit/udp/worker-teardown.test.ts', 'test/integration/udp/backpressure.test.ts', 'test/unit/tftp/fuzz.test.ts',
    'test/unit/tftp/threads.test.ts', 'test/unit/tftp/server.test.ts', 'test/unit/dhcp/service.test.ts']);
});

// The import's scan, in the main thread (bounds, every discriminator edge) and in the chunk workers.
test('the native chunking scan is clean under AddressSanitizer and UBSan', { skip, timeout: 600_000 }, () => {
  cleanUnderSanitizers('branchboot_scan.node', ['native/scan.c'], 'BRANCHBOOT_SCAN_ADDON', ['test/unit/store/parallel-cuts.test.ts']);
});

// The store's background syncfs: a job freed by its completion, a promise per call.
test('the native syncfs is clean under AddressSanitizer and UBSan', { skip, timeout: 600_000 }, () => {
  cleanUnderSanitizers('branchboot_syncfs.node', ['native/syncfs.c'], 'BRANCHBOOT_SYNCFS_ADDON', ['test/unit/store/store-sync.test.ts']);
});
