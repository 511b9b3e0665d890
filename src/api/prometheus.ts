// GET /metrics: the controller's numbers in the Prometheus text exposition format (version 0.0.4).
import type { ControllerMetrics, Histogram } from '../controller/index.js';
import type { Snapshot } from '../core/types.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Readonly<Record<string, string>>;

/** Collects samples grouped by metric family, each family with one HELP and one TYPE line. */
class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    this.lines.push(`# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Labels, value: number): void {
    this.lines.push(`${name}${labelText(labels)} ${number(value)}`);
  }

  histogram(name: string, labels: Labels, h: Histogram): void {
    let cumulative = 0;
    h.bounds.forEach((bound, i) => {
      cumulative += h.counts[i] as number;
      this.sample(`${name}_bucket`, { ...labels, le: number(bound) }, cumulative);
    });
    this.sample(`${name}_bucket`, { ...labels, le: '+Inf' }, h.count);
    this.sample(`${name}_sum`, labels, h.sum);
    this.sample(`${name}_count`, labels, h.count);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

export function renderMetrics(snapshot: Snapshot, metrics: ControllerMetrics | undefined): string {
  const out = new Exposition();
  const instance = { instance_name: snapshot.name };
  out.family('microscaler_info', 'gauge', 'Always 1; names this microscaler instance.');
  out.sample('microscaler_info', instance, 1);
  out.family('microscaler_capacity_replicas', 'gauge', 'Replicas the capacity allows.');
  out.sample('microscaler_capacity_replicas', {}, snapshot.capacity.replicas);
  out.family(
    'microscaler_capacity_used_replicas',
    'gauge',
    'Replicas occupying capacity now: running, starting and stopping.',
  );
  out.sample('microscaler_capacity_used_replicas', {}, snapshot.capacity.used);

  const gauges: [string, string, (s: Snapshot['services'][number]) => number | null | undefined][] = [
    ['microscaler_service_priority', 'Priority of the service (1 = highest).', (s) => s.priority],
    ['microscaler_service_min_replicas', 'Configured minimum replicas.', (s) => s.min],
    ['microscaler_service_max_replicas', 'Configured maximum replicas.', (s) => s.max],
    ['microscaler_service_need_replicas', 'Replicas the rule asks for (before capacity).', (s) => s.need],
    ['microscaler_service_desired_replicas', 'Replicas the latest plan gives the service.', (s) => s.desired],
    ['microscaler_service_running_replicas', 'Replicas running.', (s) => s.running],
    ['microscaler_service_starting_replicas', 'Replicas starting.', (s) => s.starting],
    ['microscaler_service_stopping_replicas', 'Replicas stopping.', (s) => s.stopping],
    [
      'microscaler_service_warm_replicas',
      'Replicas frozen (warm pool and freeze-preempted): memory, no CPU.',
      (s) => s.warm ?? 0,
    ],
    [
      'microscaler_service_paused',
      '1 while the service is paused (neither scaled up nor down).',
      (s) => ((s as { paused?: boolean }).paused ? 1 : 0),
    ],
    // Absent while the source has no value (a failed read, or a rule without a signal).
    ['microscaler_source_value', 'Latest value read from the service demand source.', (s) => s.value],
    [
      'microscaler_source_failing',
      "1 while the service's demand source fails (the service is held at its count), 0 otherwise.",
      (s) => (s.error === undefined ? 0 : 1),
    ],
    [
      'microscaler_scale_failing',
      '1 while the back-end fails to scale the service (rejected or timed-out calls, retried with backoff).',
      (s) => (s.scaleError === undefined ? 0 : 1),
    ],
  ];
  for (const [name, help, get] of gauges) {
    out.family(name, 'gauge', help);
    for (const s of snapshot.services) {
      const v = get(s);
      if (typeof v === 'number') out.sample(name, { service: s.name }, v);
    }
  }
  out.family(
    'microscaler_scheduler_up',
    'gauge',
    '1 while the back-end answers observe calls; 0 while it fails or hangs (nothing is planned meanwhile).',
  );
  out.sample('microscaler_scheduler_up', {}, snapshot.schedulerError === undefined ? 1 : 0);
  out.family(
    'microscaler_capacity_up',
    'gauge',
    '1 while the capacity in force is read (or fixed), 0 while a reading is not taken.',
  );
  out.sample('microscaler_capacity_up', {}, snapshot.capacityError === undefined ? 1 : 0);
  const p = snapshot.pressure;
  if (p) {
    const signals: [string, keyof NonNullable<Snapshot['pressure']>, string][] = [
      ['unmet', 'unmet', 'Priority 1..k need the plan could not give (docs/capacity.md).'],
      ['idle', 'idle', 'Capacity free or held only by lower priorities beyond their min, less warm pools.'],
      ['unmet_sustained', 'sustainedUnmet', 'Unmet need that has lasted its window (0 until then).'],
      ['idle_sustained', 'sustainedIdle', 'Idle capacity that has lasted its window (0 until then).'],
    ];
    for (const [suffix, key, help] of signals) {
      const name = `microscaler_capacity_pressure_${suffix}`;
      out.family(name, 'gauge', `${help} Labelled by resource: replicas, cpu (cores), memory (bytes).`);
      const a = p[key] as { replicas: number; cpu: number; memory: number };
      for (const resource of ['replicas', 'cpu', 'memory'] as const)
        out.sample(name, { resource }, a[resource]);
    }
  }
  if (!metrics) return out.text();
  if (metrics.autoscaleRequests && metrics.autoscaleRequests.size > 0) {
    out.family(
      'microscaler_autoscale_requests_total',
      'counter',
      'Requests to the autoscale target, by direction and outcome.',
    );
    for (const [key, n] of metrics.autoscaleRequests) {
      const [direction = '', outcome = ''] = key.split(' ');
      out.sample('microscaler_autoscale_requests_total', { direction, outcome }, n);
    }
  }

  out.family(
    'microscaler_observe_errors_total',
    'counter',
    'Observations of the back-end that failed or did not answer in time.',
  );
  out.sample('microscaler_observe_errors_total', {}, metrics.observeErrors);
  out.family(
    'microscaler_scale_errors_total',
    'counter',
    'Scale calls that failed: rejected by the back-end, or abandoned after the scale timeout.',
  );
  for (const [service, m] of metrics.services) {
    out.sample('microscaler_scale_errors_total', { service, cause: 'rejected' }, m.scaleErrors);
    out.sample('microscaler_scale_errors_total', { service, cause: 'timeout' }, m.scaleTimeouts);
  }

  out.family('microscaler_source_errors_total', 'counter', 'Source reads that failed or timed out.');
  for (const [service, m] of metrics.services) {
    out.sample('microscaler_source_errors_total', { service }, m.sourceErrors);
  }
  out.family(
    'microscaler_scale_actions_total',
    'counter',
    'Scale calls made, by direction (up starts replicas, down stops them) and reason.',
  );
  for (const [service, m] of metrics.services) {
    for (const [key, count] of [...m.scaleActions].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const [direction = '', reason = ''] = key.split(' ');
      out.sample('microscaler_scale_actions_total', { service, direction, reason }, count);
    }
  }
  out.family(
    'microscaler_time_to_desired_seconds',
    'histogram',
    'Time from a service leaving its desired replica count to running exactly that count again.',
  );
  for (const [service, m] of metrics.services) {
    out.histogram('microscaler_time_to_desired_seconds', { service }, m.timeToDesired);
  }
  out.family(
    'microscaler_tick_duration_seconds',
    'histogram',
    'Duration of one controller tick: read sources, observe, plan, act.',
  );
  out.histogram('microscaler_tick_duration_seconds', {}, metrics.tickSeconds);
  return out.text();
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const escaped = entries.map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`,
  );
  return `{${escaped.join(',')}}`;
}

function number(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
