// Placeholder until the dhcp server lands: a service that reports itself disabled.
import type { AppContext, Service } from '../service.ts';

export function createDhcpService(ctx: AppContext): Service {
  void ctx;
  return {
    name: 'dhcp',
    async start() {},
    async stop() {},
    health: () => ({ state: 'disabled' }),
  };
}
