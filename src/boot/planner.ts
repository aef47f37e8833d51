// Placeholder planner until boot plans land: every client chains to iPXE, and iPXE is told
// that no image is assigned yet. The real planner replaces this file's body, not its shape.
import type { AppContext } from '../service.ts';
import type { BootClient, BootPlan, BootPlanner, FirstFile } from './types.ts';

type PlannerDeps = Pick<AppContext, 'config' | 'db' | 'log'>;

export function createPlanner(deps: PlannerDeps): BootPlanner {
  const httpBase = () => deps.config.http.publicUrl ?? `http://${deps.config.http.address}:${deps.config.http.port}`;
  const firstFile = async (c: BootClient): Promise<FirstFile> => {
    if (c.ipxe) return { bootfile: `${httpBase()}/boot/${c.mac}.ipxe` };
    if (c.arch === 0 || c.arch === undefined) return { bootfile: 'undionly.kpxe' };
    return { bootfile: deps.config.boot.efiBinary };
  };
  return {
    firstFile,
    async plan(c: BootClient): Promise<BootPlan> {
      const reason = 'no boot plan yet';
      return { kind: 'error', firstFile: await firstFile(c), reason, script: `#!ipxe\necho ${reason}\nsleep 30\nreboot\n` };
    },
    async generatedFile() { return undefined; },
  };
}
