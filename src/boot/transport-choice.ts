// Which flavor and transport a machine boots its image with, and whether that pair can boot.
// One order for the planner (resolve.ts) and for every place an admin assigns an image or a
// transport (apply, the API, the console: model/boot-pairs.ts, model/inventory/apply.ts), which
// refuse there what the planner would refuse at the machine's next boot. It was written out
// three times: the checks skipped a version's own transport and flavor, and the flavor's default.
import type { Flavor, Transport } from '../db/schema.ts';
import { defaultTransport, transportProblem } from './cmdline.ts';

/** What a version (image_versions) says for itself; null = its image's. */
export interface VersionFacts {
  flavor: Flavor | null;
  transport: Transport | null;
  rootKind: string | null;
  rootFile: string | null;
}

export interface ImageFacts {
  name: string;
  flavor: Flavor;
  transport: Transport | null;
}

/** Set on the machine and on its branch (null: not set there, inherit). */
export interface AssignedTransports {
  machine?: Transport | null | undefined;
  branch?: Transport | null | undefined;
}

/** The machine's, else its branch's, else the version's, else the image's, else the flavor's default for that root. */
export function bootPair(image: ImageFacts, version: VersionFacts | undefined, set: AssignedTransports): { flavor: Flavor; transport: Transport } {
  const flavor = version?.flavor ?? image.flavor;
  const transport = set.machine ?? set.branch ?? version?.transport ?? image.transport
    ?? defaultTransport(flavor, version?.rootKind ?? null, version?.rootFile ?? null);
  return { flavor, transport };
}

/** Why the image (at `version`, the one a machine would boot) cannot boot as assigned, in one line; undefined when it can. */
export function bootPairProblem(image: ImageFacts, version: VersionFacts | undefined, set: AssignedTransports): string | undefined {
  const { flavor, transport } = bootPair(image, version, set);
  const why = transportProblem(flavor, transport, version?.rootKind);
  return why && `image "${image.name}" (${flavor}) over ${transport}: ${why}`;
}
