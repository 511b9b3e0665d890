// Configs that are valid but will not do what they say: reported at `validate` and when `run` starts, never
// refused (mins that do not fit are honoured in priority order, DESIGN.md promise 3).
import type { Config, ServiceSpec } from '../core/types.js';
import { parseMemory } from '../core/units.js';
import { fixedReplicas } from './capacity.js';

/** One line per budget (replicas, cpu, memory) that the services' `min`s add up to more than. */
export function configWarnings(config: Config): string[] {
  const { capacity } = config;
  const withMin = config.services.filter((s) => s.min > 0);
  const warnings: string[] = [];
  const over = (
    what: string,
    of: (s: ServiceSpec) => number,
    limit: number | undefined,
    show: (n: number) => string = String,
  ) => {
    if (limit === undefined) return;
    const counted = withMin.filter((s) => of(s) > 0);
    const sum = counted.reduce((total, s) => total + of(s), 0);
    if (sum <= limit) return;
    const names = counted.map((s) => `${s.name} (${show(of(s))})`).join(', ');
    warnings.push(
      `services: the mins of ${names} add up to ${show(sum)} ${what}, more than capacity.${what} (${show(limit)}); ` +
        'mins are honoured in priority order, so the lowest priorities get fewer than their min',
    );
  };
  // A replica count read live is not known before it is read; cpu and memory read live are not in `capacity`.
  over('replicas', (s) => s.min, fixedReplicas(config.liveCapacity) ? capacity.replicas : undefined);
  over(
    'cpu',
    (s) => s.min * s.resources.cpu,
    capacity.cpu,
    (n) => String(Number(n.toPrecision(12))),
  );
  over('memory', (s) => s.min * s.resources.memory, capacity.memory, bytes);
  return warnings;
}

function bytes(n: number): string {
  const mi = n / parseMemory('1Mi');
  return Number.isInteger(mi) ? `${mi}Mi` : `${n} bytes`;
}
