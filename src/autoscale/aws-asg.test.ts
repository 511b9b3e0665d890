// The aws-asg target through the real AWS SDK, pointed at test/fakes/asg-api.ts (a fake of the documented
// Auto Scaling Query API) with dummy credentials; and the pure step from a group's sizes to the next desired.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { FakeAutoScaling } from '../../test/fakes/asg-api.js';
import { TerminalError, TransientError } from '../core/errors.js';
import type { CapacityAsk } from '../core/types.js';
import { AwsAsgTarget, awsAsgSettingsSchema, nextDesired } from './aws-asg.js';

const out = (nodes?: number): CapacityAsk => ({
  direction: 'out',
  ...(nodes !== undefined ? { nodes } : {}),
  want: { replicas: 6, cpu: 4, memory: 2 ** 30 },
  reason: 'unmet need has lasted its window',
});
const inAsk = (nodes: number): CapacityAsk => ({ ...out(nodes), direction: 'in', reason: 'idle' });

const fakes: FakeAutoScaling[] = [];
const targets: AwsAsgTarget[] = [];
after(async () => {
  await Promise.all(targets.map((t) => t.close()));
  await Promise.all(fakes.map((f) => f.close()));
});

async function setup(accessKeyId = 'AKIDFAKE') {
  const asg = new FakeAutoScaling();
  fakes.push(asg);
  asg.addGroup('workers', { min: 1, max: 5, desired: 2 });
  const endpoint = await asg.start();
  const logs: string[] = [];
  const target = await AwsAsgTarget.create(
    awsAsgSettingsSchema.parse({ type: 'aws-asg', group: 'workers', region: 'us-east-1', endpoint }),
    { log: (_level, message) => logs.push(message) },
    { clientConfig: { credentials: { accessKeyId, secretAccessKey: 'fake-secret-key' } }, timeoutMs: 3000 },
  );
  targets.push(target);
  return { asg, target, logs };
}

const signal = () => AbortSignal.timeout(5000);

describe('nextDesired', () => {
  const sizes = { desired: 3, min: 1, max: 5 };
  const cases: [CapacityAsk['direction'], number, number, boolean][] = [
    ['out', 1, 4, false],
    ['out', 2, 5, false],
    ['out', 4, 5, true],
    ['in', 2, 1, false],
    ['in', 3, 1, true],
  ];
  for (const [direction, nodes, desired, clamped] of cases) {
    test(`${direction} ${nodes} from 3 in [1, 5] → ${desired}${clamped ? ' (clamped)' : ''}`, () => {
      assert.deepEqual(nextDesired(sizes, direction, nodes), { desired, clamped });
    });
  }
});

describe('aws-asg target (real SDK, fake Auto Scaling API)', () => {
  test('out and in move the desired capacity by the nodes, with HonorCooldown false, on the documented wire', async () => {
    const { asg, target, logs } = await setup();
    await target.ask('shop', out(2), signal());
    assert.equal(asg.groups.get('workers')?.desired, 4);
    await target.ask('shop', inAsk(1), signal());
    assert.equal(asg.groups.get('workers')?.desired, 3);
    assert.deepEqual(asg.sets, [
      { group: 'workers', desired: 4, honorCooldown: false },
      { group: 'workers', desired: 3, honorCooldown: false },
    ]);
    const [describeCall, setCall] = asg.requests;
    assert.equal(describeCall?.Action, 'DescribeAutoScalingGroups');
    assert.equal(describeCall?.Version, '2011-01-01');
    assert.equal(describeCall?.['AutoScalingGroupNames.member.1'], 'workers');
    assert.deepEqual(setCall, {
      Action: 'SetDesiredCapacity',
      Version: '2011-01-01',
      AutoScalingGroupName: 'workers',
      DesiredCapacity: '4',
      HonorCooldown: 'false',
    });
    assert.match(logs[0] ?? '', /desired capacity 2 → 4/);
  });

  test('a step beyond MaxSize or MinSize is clamped, and the log says so; at the limit nothing is set', async () => {
    const { asg, target, logs } = await setup();
    await target.ask('shop', out(10), signal());
    assert.equal(asg.groups.get('workers')?.desired, 5);
    assert.match(logs.at(-1) ?? '', /2 → 5 \(\+10 clamped to MinSize 1, MaxSize 5\)/);
    await target.ask('shop', out(1), signal());
    assert.equal(asg.sets.length, 1, 'already at MaxSize: no call');
    assert.match(logs.at(-1) ?? '', /stays at 5/);
    await target.ask('shop', inAsk(9), signal());
    assert.equal(asg.groups.get('workers')?.desired, 1);
  });

  test('a request without nodes cannot become instances: TerminalError, nothing called', async () => {
    const { asg, target } = await setup();
    await assert.rejects(target.ask('shop', out(), signal()), (e: Error) => {
      assert.ok(e instanceof TerminalError);
      assert.match(e.message, /does not say how many nodes/);
      return true;
    });
    assert.equal(asg.requests.length, 0);
  });

  test('a group that does not exist is a TerminalError naming it', async () => {
    const { asg, target } = await setup();
    asg.groups.delete('workers');
    await assert.rejects(target.ask('shop', out(1), signal()), (e: Error) => {
      assert.ok(e instanceof TerminalError);
      assert.match(e.message, /group workers not found/);
      return true;
    });
    asg.addGroup('workers', { min: 0, max: 3, desired: 1 });
    asg.failures.push({
      action: 'SetDesiredCapacity',
      code: 'ValidationError',
      message: 'AutoScalingGroup name not found - workers',
      status: 400,
    });
    await assert.rejects(target.ask('shop', out(1), signal()), TerminalError);
  });

  test('throttling, contention and 5xx are TransientErrors', async () => {
    const { asg, target } = await setup();
    for (const [code, status] of [
      ['Throttling', 400],
      ['ResourceContention', 500],
      ['ServiceUnavailable', 503],
      ['ScalingActivityInProgress', 400],
    ] as const) {
      // Twice: the SDK retries once (maxAttempts 2) on what it knows to be retryable.
      for (let i = 0; i < 2; i++) {
        asg.failures.push({ action: 'SetDesiredCapacity', code, message: `said ${code}`, status });
      }
      await assert.rejects(target.ask('shop', out(1), signal()), (e: Error) => {
        assert.ok(e instanceof TransientError, `${code}: ${e.name}: ${e.message}`);
        assert.match(e.message, new RegExp(code));
        return true;
      });
      asg.failures.length = 0;
    }
    assert.equal(asg.groups.get('workers')?.desired, 2);
  });

  test('an unknown key and a key that may only describe are TerminalErrors that say what to allow', async () => {
    const unknown = await setup('AKIDNOBODY');
    await assert.rejects(unknown.target.ask('shop', out(1), signal()), (e: Error) => {
      assert.ok(e instanceof TerminalError);
      assert.match(e.message, /InvalidClientTokenId/);
      assert.ok(!e.message.includes('fake-secret-key'));
      return true;
    });
    const reader = await setup('AKIDREADER');
    reader.asg.readOnlyKeys.add('AKIDREADER');
    await assert.rejects(reader.target.ask('shop', out(1), signal()), (e: Error) => {
      assert.ok(e instanceof TerminalError);
      assert.match(e.message, /AccessDenied.*autoscaling:SetDesiredCapacity/);
      return true;
    });
    assert.equal(reader.asg.groups.get('workers')?.desired, 2);
  });

  test('settings: a group is required and unknown settings are refused', () => {
    assert.equal(awsAsgSettingsSchema.safeParse({ type: 'aws-asg' }).success, false);
    assert.equal(awsAsgSettingsSchema.safeParse({ type: 'aws-asg', group: 'g', size: 3 }).success, false);
  });
});
