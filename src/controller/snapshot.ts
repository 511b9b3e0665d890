// The snapshot: what a running instance reports (GET /api/state, the live view): each service's plan and
// replicas, the capacity used, removed services, and the problems open.
import type { Capacity, Observed, Plan, PressureSnapshot, Snapshot } from '../core/types.js';
import { NONE_OBSERVED } from '../core/types.js';
import { removedServices } from './removed.js';
import type { Reporter } from './reporter.js';
import type { ServiceBook } from './service-book.js';

/** A service as a running instance reports it, with whether it is paused. */
export type ServiceStatus = Snapshot['services'][number] & { readonly paused?: true };
export interface ControllerSnapshot extends Snapshot {
  readonly services: readonly ServiceStatus[];
}

export interface SnapshotInput {
  readonly name: string;
  readonly capacity: Capacity;
  /** The pressure signals (absent before the first plan). */
  readonly signals?: PressureSnapshot;
  readonly book: ServiceBook;
  readonly plan: Plan | undefined;
  readonly observed: ReadonlyMap<string, Observed>;
  /** Where the open problems are. */
  readonly reporter: Reporter;
  readonly freezing: boolean;
  readonly keepRemoved: boolean;
  /** Wall-clock ms, for the timestamp. */
  readonly wall: () => number;
}

export function buildSnapshot(input: SnapshotInput): ControllerSnapshot {
  const { book, observed, reporter } = input;
  const planned = new Map(input.plan?.services.map((s) => [s.name, s]));
  let used = 0;
  const services = book.all.map((s): ServiceStatus => {
    const o = observed.get(s.name) ?? NONE_OBSERVED;
    const p = planned.get(s.name);
    const scaleError = reporter.problemOf(`scale:${s.name}`);
    used += occupying(o);
    return {
      name: s.name,
      priority: s.priority,
      min: s.min,
      max: s.max,
      value: p?.value ?? null,
      need: p?.need ?? 0,
      desired: p?.desired ?? 0,
      running: o.running,
      starting: o.starting,
      stopping: o.stopping,
      ...(p?.reason === undefined ? {} : { reason: p.reason.text, cause: p.reason.cause }),
      ...(p?.error === undefined ? {} : { error: p.error }),
      ...(input.freezing ? { warm: o.frozen ?? 0 } : {}),
      ...(scaleError === undefined ? {} : { scaleError }),
      ...(book.isPaused(s.name) ? { paused: true as const } : {}),
    };
  });
  const schedulerError = reporter.problemOf('scheduler');
  const capacityError = reporter.problemOf('capacity');
  const removed = removedServices(observed, book.names);
  for (const r of removed) used += r.holding;
  return {
    time: new Date(input.wall()).toISOString(),
    name: input.name,
    capacity: { ...input.capacity, used },
    services,
    ...(removed.length === 0
      ? {}
      : {
          removed: removed.map((r) => ({ name: r.name, replicas: r.holding, kept: input.keepRemoved })),
        }),
    ...(schedulerError === undefined ? {} : { schedulerError }),
    ...(capacityError === undefined ? {} : { capacityError }),
    ...(input.signals === undefined ? {} : { pressure: input.signals }),
  };
}

/** What takes replicas and cpu now: running, starting, stopping, and warming (started to be frozen). */
export function occupying(o: Observed): number {
  return o.running + o.starting + o.stopping + (o.warming ?? 0);
}
