// Placeholder until the nbd server lands: a service that reports itself disabled.
import type { AppContext, Service } from '../service.ts';

export function createNbdService(ctx: AppContext): Service {
  void ctx;
  return {
    name: 'nbd',
    async start() {},
    async stop() {},
    health: () => ({ state: 'disabled' }),
  };
}
