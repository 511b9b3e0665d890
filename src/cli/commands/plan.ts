// `microscaler plan`: what the planner would decide for a config, given demand and running counts by hand.
import { MAX_DEMAND } from '../../api/server.js';
import type { ServicePolicy, Snapshot, SourceResult } from '../../core/types.js';
import { EMPTY_MEMORY, plan } from '../../planner/index.js';
import { readConfig } from '../compose.js';
import { table } from '../render.js';
import { UsageError } from '../usage-error.js';
import { options, requireConfig } from './args.js';
import { help } from './usage.js';

export async function planCommand(args: string[]): Promise<number> {
  const o = options(args, {
    config: { type: 'string', short: 'c' },
    demand: { type: 'string', multiple: true },
    running: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  if (o.help) return help();
  const config = await readConfig(requireConfig(o.config));
  const names = new Set(config.services.map((s) => s.name));
  const demand = pairs('--demand', o.demand as string[] | undefined, names, false);
  for (const [name] of demand) {
    const s = config.services.find((x) => x.name === name);
    if (s && s.source === undefined) {
      throw new UsageError(
        `--demand ${name}=...: service "${name}" has no demand source (its rule is ${s.rule.type}), so a value would be ignored`,
      );
    }
  }
  const running = pairs('--running', o.running as string[] | undefined, names, true);
  const now = Date.now();
  const readings = new Map<string, SourceResult>();
  for (const [name, value] of demand) readings.set(name, { ok: true, reading: { value, at: now } });
  const observed = new Map([...running].map(([name, n]) => [name, { running: n, starting: 0, stopping: 0 }]));
  const services: ServicePolicy[] = [...config.services];
  const result = plan({ now, capacity: config.capacity, services, readings, observed }, EMPTY_MEMORY).plan;
  if (o.json) {
    // The reason as its text, with its cause beside it: the shape /api/state gives a service.
    const flat = result.services.map(({ reason, error, ...p }) => ({
      ...p,
      ...(reason === undefined ? {} : { reason: reason.text, cause: reason.cause }),
      ...(error === undefined ? {} : { error }),
    }));
    process.stdout.write(`${JSON.stringify(flat, null, 2)}\n`);
    return 0;
  }
  const snapshot: Snapshot = {
    time: new Date(now).toISOString(),
    name: config.name,
    capacity: { replicas: config.capacity.replicas, used: 0 },
    services: result.services.map((p) => {
      const s = config.services.find((x) => x.name === p.name) as ServicePolicy;
      const seen = observed.get(p.name);
      return {
        name: p.name,
        priority: p.priority,
        min: s.min,
        max: s.max,
        value: p.value ?? null,
        // As the reason line counts it: what the rule asks for, within the service's max.
        need: Math.min(p.need, s.max),
        desired: p.desired,
        running: seen?.running ?? 0,
        starting: 0,
        stopping: 0,
      };
    }),
  };
  const total = result.services.reduce((a, s) => a + s.desired, 0);
  process.stdout.write(`${table(snapshot)}\n\ndesired ${total} of capacity ${config.capacity.replicas}\n`);
  for (const s of result.services) if (s.reason) process.stdout.write(`- ${s.reason.text}\n`);
  return 0;
}

/** NAME=NUMBER pairs, each naming a service of the config. */
function pairs(
  flag: string,
  values: string[] | undefined,
  names: Set<string>,
  integer: boolean,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of values ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(v);
    const value = m ? Number(m[2]) : Number.NaN;
    if (!m || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
      throw new UsageError(`${flag} ${v}: expected NAME=${integer ? 'COUNT' : 'VALUE'} with a number ≥ 0`);
    }
    // The API's bound on a pushed value; a count is bounded by what any capacity could hold.
    const most = integer ? 1_000_000 : MAX_DEMAND;
    if (value > most) throw new UsageError(`${flag} ${v}: at most ${most}`);
    if (!names.has(m[1] as string)) {
      throw new UsageError(`${flag} ${v}: no service "${m[1]}" (services: ${[...names].join(', ')})`);
    }
    out.set(m[1] as string, value);
  }
  return out;
}
