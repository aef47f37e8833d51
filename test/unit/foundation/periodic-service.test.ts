import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { periodicService } from '../../../src/periodic-service.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a pass longer than the interval never has a second one beside it', async () => {
  let active = 0, most = 0, passes = 0;
  const svc = periodicService({
    name: 'slow', log: pino({ level: 'silent' }), firstPassMs: 0, intervalMs: 1, failure: 'x',
    async pass() { active++; most = Math.max(most, active); await sleep(25); active--; return { n: ++passes }; },
  });
  await svc.start();
  await sleep(200);
  await svc.stop(1000);
  assert.ok(passes >= 3, `${passes} passes`);
  assert.equal(most, 1);
  assert.equal(svc.health().detail?.n, passes);
});

test('a failed pass is logged and the next one runs; stop aborts the pass in progress', async () => {
  const logged: string[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => { logged.push((JSON.parse(line) as { msg: string }).msg); } });
  let passes = 0;
  let aborted = false;
  const svc = periodicService({
    name: 'flaky', log, firstPassMs: 0, intervalMs: 1, failure: 'flaky pass failed', detail: { setting: 1 },
    async pass(signal) {
      if (++passes === 1) throw new Error('disk full');
      // The second pass runs until the service stops.
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      aborted = true;
      throw signal.reason;
    },
  });
  await svc.start();
  assert.equal(svc.health().state, 'running');
  for (let i = 0; i < 100 && passes < 2; i++) await sleep(5);
  const t0 = Date.now();
  await svc.stop(5000);
  assert.ok(Date.now() - t0 < 1000, 'stop did not wait for the grace period');
  assert.ok(aborted);
  assert.equal(passes, 2);
  assert.deepEqual(logged, ['flaky pass failed'], 'the abort at stop is not an error');
  assert.deepEqual(svc.health(), { state: 'stopped', detail: { setting: 1 } });
});
