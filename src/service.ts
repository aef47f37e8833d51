// What every protocol server is to the application: started in order, stopped in reverse,
// and able to say how it is doing for /healthz.
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './db/index.ts';
import type { BootPlanner } from './boot/types.ts';
import type { EventBus } from './events.ts';

export type ServiceState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' | 'disabled';

export interface ServiceHealth {
  state: ServiceState;
  /** Where it listens, e.g. "0.0.0.0:67". */
  listen?: string[];
  detail?: Record<string, unknown>;
}

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** Finish or cut in-flight work within `graceMs`, release sockets. Must not throw. */
  stop(graceMs: number): Promise<void>;
  health(): ServiceHealth;
}

/** What services are built from. */
export interface AppContext {
  config: Config;
  db: Db;
  log: Logger;
  events: EventBus;
  planner: BootPlanner;
}
