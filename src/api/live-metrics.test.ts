// GET /metrics, parsed strictly as Prometheus text, through the real HTTP server and a real controller.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { start } from '../../test/fixtures/api/live-server.js';
import { startApiServer } from './server.js';

/** A strict parser of the Prometheus text format (0.0.4): every line is a comment, a sample or empty. */
function parsePrometheus(text: string) {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const families = new Map<
    string,
    { type: string; help: string; samples: { name: string; labels: Record<string, string>; value: number }[] }
  >();
  const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    assert.notEqual(line, '', 'no empty lines');
    const help = /^# HELP (\S+) (.+)$/.exec(line);
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help) {
      const [, name = ''] = help;
      assert.match(name, metricName);
      assert.ok(!families.has(name), `${name}: one HELP per family`);
      families.set(name, { type: '', help: help[2] ?? '', samples: [] });
      current = name;
      continue;
    }
    if (type) {
      assert.equal(type[1], current, `TYPE of ${type[1]} right after its HELP`);
      (families.get(type[1] ?? '') as { type: string }).type = type[2] ?? '';
      continue;
    }
    assert.ok(!line.startsWith('#'), `unknown comment: ${line}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const [, name = '', , labelText = '', valueText = ''] = m;
    const labels: Record<string, string> = {};
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
    for (let at = 0; at < labelText.length; ) {
      labelRe.lastIndex = at;
      const l = labelRe.exec(labelText);
      assert.ok(l, `bad labels in: ${line}`);
      labels[l[1] ?? ''] = l[2] ?? '';
      at = labelRe.lastIndex;
    }
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    assert.ok(valueText === 'NaN' || !Number.isNaN(value), `bad value in: ${line}`);
    const family = families.get(current ?? '');
    assert.ok(family && current, `sample before any HELP: ${line}`);
    const suffixes = family.type === 'histogram' ? ['_bucket', '_sum', '_count'] : [''];
    assert.ok(
      suffixes.some((s) => name === current + s),
      `${name} outside its family ${current}`,
    );
    family.samples.push({ name, labels, value });
  }
  return families;
}

describe('GET /metrics', () => {
  test('a scrape parses as Prometheus text and says what the controller did', async (t) => {
    const { send, tick, source } = await start(t);
    await tick();
    source.value = 120;
    await tick();
    await tick();
    const res = await send('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheus(await res.text());

    for (const [name, f] of families) {
      assert.match(name, /^microscaler_/);
      assert.ok(f.help.length > 0, `${name} has help`);
      if (f.type === 'counter') assert.match(name, /_total$/);
      else assert.doesNotMatch(name, /_total$/);
      if (f.type === 'histogram') {
        // Per label set: buckets ascending and cumulative, +Inf equal to _count.
        const sets = new Map<string, { le: number; value: number }[]>();
        for (const s of f.samples.filter((x) => x.name.endsWith('_bucket'))) {
          const { le = '', ...rest } = s.labels;
          const key = JSON.stringify(rest);
          sets.set(key, [
            ...(sets.get(key) ?? []),
            { le: le === '+Inf' ? Infinity : Number(le), value: s.value },
          ]);
        }
        assert.ok(sets.size > 0, `${name} has buckets`);
        for (const [key, buckets] of sets) {
          for (let i = 1; i < buckets.length; i++) {
            assert.ok((buckets[i]?.le ?? 0) > (buckets[i - 1]?.le ?? 0), `${name} le ascending`);
            assert.ok((buckets[i]?.value ?? 0) >= (buckets[i - 1]?.value ?? 0), `${name} cumulative`);
          }
          const count = f.samples.find((x) => x.name === `${name}_count` && JSON.stringify(x.labels) === key);
          assert.equal(buckets.at(-1)?.le, Infinity);
          assert.equal(buckets.at(-1)?.value, count?.value);
        }
      }
    }
    const value = (sample: string, labels: Record<string, string> = {}) =>
      [...families.values()]
        .flatMap((f) => f.samples)
        .find((s) => s.name === sample && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    assert.equal(value('microscaler_capacity_replicas'), 20);
    assert.equal(value('microscaler_capacity_used_replicas'), 20);
    assert.equal(value('microscaler_service_need_replicas', { service: 'web' }), 12);
    assert.equal(value('microscaler_service_desired_replicas', { service: 'web' }), 12);
    assert.equal(value('microscaler_service_running_replicas', { service: 'web' }), 12);
    assert.equal(value('microscaler_service_running_replicas', { service: 'batch' }), 8);
    assert.equal(value('microscaler_source_value', { service: 'web' }), 120);
    assert.equal(value('microscaler_source_value', { service: 'batch' }), undefined, 'no value, no sample');
    assert.equal(value('microscaler_source_errors_total', { service: 'web' }), 0);
    assert.equal(
      value('microscaler_scale_actions_total', { service: 'web', direction: 'up', reason: 'demand' }),
      2,
    );
    assert.equal(
      value('microscaler_scale_actions_total', { service: 'batch', direction: 'down', reason: 'preemption' }),
      1,
    );
    assert.equal(value('microscaler_tick_duration_seconds_count'), 3);
    assert.ok((value('microscaler_time_to_desired_seconds_count', { service: 'web' }) ?? 0) >= 1);
    assert.equal(value('microscaler_info', { instance_name: 'shop' }), 1);
  });

  test('label values are escaped', async (t) => {
    const snapshot = {
      time: '',
      name: 'a "quoted"\\ name\nx',
      capacity: { replicas: 1, used: 0 },
      services: [],
    };
    const server = await startApiServer({ listen: 0, snapshot: () => snapshot, pushDemand() {} });
    t.after(() => server.close());
    const families = parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
    assert.equal(
      families.get('microscaler_info')?.samples[0]?.labels.instance_name,
      'a \\"quoted\\"\\\\ name\\nx',
    );
  });
});
