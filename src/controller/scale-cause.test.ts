// Scale calls are counted, and their events kinded, by the reason's cause: never by parsing its text.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeScheduler } from '../../test/fakes/fake-scheduler.js';
import { ManualClock } from '../../test/fakes/manual-clock.js';
import type { Reason, ReasonCause } from '../core/types.js';
import { silentLogger } from '../infra/logger.js';
import { CallLedger } from './call-ledger.js';
import { EventLog, isPreemption } from './event-log.js';
import { newServiceMetrics, type ScaleCause, scaleCause } from './metrics.js';
import { Reporter } from './reporter.js';
import { ScaleExecutor } from './scale-executor.js';
import { TerminalHolds } from './terminal-holds.js';

/** Every cause and its metric label (the labels of `microscaler_scale_actions_total`, unchanged). */
const LABELS: Record<ReasonCause, ScaleCause> = {
  'scale-up': 'demand',
  min: 'demand',
  'scale-down': 'demand',
  max: 'demand',
  remainder: 'remainder',
  preempt: 'preemption',
  replace: 'replacement',
  exit: 'exit',
  hold: 'correction',
  refill: 'correction',
  'remove-frozen': 'correction',
  'above-plan': 'correction',
  removed: 'correction',
};

function executor() {
  const clock = new ManualClock(0);
  const scheduler = new FakeScheduler(['web']);
  scheduler.instant = true;
  const log = new EventLog();
  const metrics = new Map([['web', newServiceMetrics()]]);
  const run = new ScaleExecutor({
    scheduler,
    logger: silentLogger,
    clock,
    scaleTimeoutMs: 1000,
    ledger: new CallLedger(),
    reporter: new Reporter(silentLogger, () => 0, log),
    holds: new TerminalHolds(),
    metrics,
    signal: new AbortController().signal,
    mayAct: () => true,
    stopped: () => false,
    observed: () => undefined,
    reconcile: () => {},
  });
  return { run, scheduler, log, actions: metrics.get('web')?.scaleActions ?? new Map() };
}

describe('scale causes', () => {
  test('each cause has its metric label', () => {
    for (const [cause, label] of Object.entries(LABELS) as [ReasonCause, ScaleCause][]) {
      assert.equal(scaleCause({ cause, text: '' }), label, cause);
    }
  });

  test('scale actions are counted by direction and cause, whatever the text says', async () => {
    const { run, scheduler, log, actions } = executor();
    // Texts that, read as text, would say something else: only the cause counts.
    const calls: [number, number, Reason][] = [
      [0, 3, { cause: 'scale-up', text: 'preempted web ×1' }],
      [3, 5, { cause: 'min', text: 'replacing 1 replica(s) of web that stopped' }],
      [5, 6, { cause: 'remainder', text: 'scale up web 5→6: need 6' }],
      [6, 7, { cause: 'replace', text: 'scale up web 6→7: remainder' }],
      [7, 8, { cause: 'refill', text: 'scale up web 7→8' }],
      [8, 4, { cause: 'preempt', text: 'scale down web 8→4' }],
      [4, 3, { cause: 'max', text: 'stopping everything on exit' }],
      [3, 2, { cause: 'above-plan', text: 'preempted web ×1' }],
      [2, 0, { cause: 'exit', text: 'web above plan' }],
    ];
    for (const [from, to, reason] of calls) await run.call('web', to, reason, false, from);
    assert.deepEqual(Object.fromEntries(actions), {
      'up demand': 2,
      'up remainder': 1,
      'up replacement': 1,
      'up correction': 1,
      'down preemption': 1,
      'down demand': 1,
      'down correction': 1,
      'down exit': 1,
    });
    // The back-end gets the text; the events carry the text and, beside it, the cause.
    assert.deepEqual(
      scheduler.calls.map((c) => c.reason),
      calls.map(([, , r]) => r.text),
    );
    const events = log.recent().filter((e) => e.kind === 'start' || e.kind === 'stop');
    assert.deepEqual(
      events.map((e) => [e.reason, e.cause]),
      calls.map(([, , r]) => [r.text, r.cause]),
    );
  });

  test('a plan change is a preemption by its cause', () => {
    assert.equal(isPreemption({ cause: 'preempt', text: 'scale down web 5→3' }), true);
    assert.equal(isPreemption({ cause: 'scale-down', text: 'preempted web ×2 for api: web 5→3' }), false);
  });
});
