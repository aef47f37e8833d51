// Placeholder until the tftp server lands: a service that reports itself disabled.
import type { AppContext, Service } from '../service.ts';

export function createTftpService(ctx: AppContext): Service {
  void ctx;
  return {
    name: 'tftp',
    async start() {},
    async stop() {},
    health: () => ({ state: 'disabled' }),
  };
}
