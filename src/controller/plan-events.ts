// Plan events: tells about each new plan's changes (plan and preempt events, the reason each change of
// desired is pending with), and opens or closes each source's problem.
import type { Plan } from '../core/types.js';
import { isPreemption } from './event-log.js';
import type { Reporter } from './reporter.js';
import type { TimeToDesired } from './time-to-desired.js';

export function reportPlan(p: Plan, reporter: Reporter, settling: TimeToDesired): void {
  for (const s of p.services) {
    if (s.error !== undefined) {
      reporter.problem(`source:${s.name}`, s.name, `${s.name}: ${s.reason?.text ?? s.error}`);
    } else {
      reporter.clearProblem(`source:${s.name}`, s.name, 'its source answers again');
      if (s.reason) {
        settling.changed(s.name, s.desired, s.reason);
        reporter.emit('plan', s.reason.text, s.name, {
          kind: isPreemption(s.reason) ? 'preempt' : 'plan',
          message: s.reason.text,
          reason: s.reason.text,
          cause: s.reason.cause,
        });
      }
    }
  }
}
