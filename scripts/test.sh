#!/usr/bin/env bash
# The README's test command runs this: packages, typecheck, lint, then every test in one
# node:test run (unit, integration with real peers in network namespaces, VM end-to-end).
# `scripts/test.sh e2e` runs only the VM end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob
bash scripts/ensure-apt.sh
# The built tree is what `npm start` runs; one test runs it, so build it from this checkout.
npm run build --silent
if [ "${1:-}" = e2e ]; then
  files=(test/e2e/**/*.test.ts)
else
  npm run --silent typecheck
  npm run --silent lint
  files=(test/unit/**/*.test.ts test/integration/**/*.test.ts test/e2e/**/*.test.ts)
fi
mkdir -p .test-artifacts
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=900000 "${files[@]}"
