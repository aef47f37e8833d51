// V8 optimises a function with TurboFan once it has run about 66 KB of its own bytecode
// (--interrupt-budget=67584). A freshly started serve meets its first boot storm in Ignition
// and spends the storm's first seconds compiling the packet path on V8's helper threads, which
// share the machine's cores with the packets (bench/dhcp/RESULTS.md, "what separates the
// default run from steady state": ~20 µs per DORA on those threads, 74 optimisations in the
// measured window). A quarter of that budget moves the compiling into the first few thousand
// exchanges. Measured in the DHCP benchmark (fresh server per round, 2,000 warm-up exchanges):
// median 0.77 → 0.96× Kea at 1,000 clients, 0.80 → 0.88× at 10,000 (12 runs each); steady state
// (bench/dhcp/cpu.ts) unchanged. Lower (8,448) was no better. Only serve sets it: in a short
// `image import` the extra compiles cost more than they give (147 MB squashfs 1.12 → 1.31 s,
// 8 runs each; 415 MB 2.58 vs 2.59 s), and an import job inside serve pays that once.
import v8 from 'node:v8';

/** Before the hot paths run: set at run time, V8 reads the budget each time it refills one. */
export function tierUpSooner(): void {
  v8.setFlagsFromString('--interrupt-budget=16896');
}
