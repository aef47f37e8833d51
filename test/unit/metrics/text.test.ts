// The exposition encoder: what a label value or help text holds must not break the line format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFamilies, encodeFamily, escapeLabelValue, formatValue } from '../../../src/http/metrics/text.ts';

test('label values escape backslash, double quote and newline, in that order', () => {
  assert.equal(escapeLabelValue('a\\b'), 'a\\\\b');
  assert.equal(escapeLabelValue('say "hi"'), 'say \\"hi\\"');
  assert.equal(escapeLabelValue('two\nlines'), 'two\\nlines');
  // A backslash before a quote stays two characters: \\ then \".
  assert.equal(escapeLabelValue('\\"'), '\\\\\\"');
  assert.equal(escapeLabelValue('plain-name_1.2'), 'plain-name_1.2');
});

test('a family: HELP and TYPE lines, then one line per sample with escaped labels', () => {
  const text = encodeFamily({
    name: 'branchboot_x', type: 'gauge', help: 'a back\\slash and a\nbreak, "quotes" stay',
    samples: [{ labels: { branch: 'lab "1"\\\n', subnet: '10.0.0.0/24' }, value: 3 }, { value: 0.5 }],
  });
  assert.equal(text, [
    '# HELP branchboot_x a back\\\\slash and a\\nbreak, "quotes" stay',
    '# TYPE branchboot_x gauge',
    'branchboot_x{branch="lab \\"1\\"\\\\\\n",subnet="10.0.0.0/24"} 3',
    'branchboot_x 0.5',
    '',
  ].join('\n'));
});

test('special values are written as Prometheus reads them', () => {
  assert.deepEqual([NaN, Infinity, -Infinity, 0, 1e21, 12.25].map(formatValue), ['NaN', '+Inf', '-Inf', '0', '1e+21', '12.25']);
});

test('families without samples are left out; bad names are bugs and throw', () => {
  assert.equal(encodeFamilies([{ name: 'branchboot_none', type: 'counter', help: 'h', samples: [] }]), '');
  assert.throws(() => encodeFamily({ name: 'branchboot-bad', type: 'gauge', help: 'h', samples: [{ value: 1 }] }), /metric name/);
  assert.throws(() => encodeFamily({ name: 'branchboot_ok', type: 'gauge', help: 'h', samples: [{ labels: { 'sub-net': 'x' }, value: 1 }] }), /label name/);
  assert.throws(() => encodeFamily({ name: 'branchboot_ok', type: 'gauge', help: 'h', samples: [{ labels: { __name__: 'x' }, value: 1 }] }), /label name/);
});
