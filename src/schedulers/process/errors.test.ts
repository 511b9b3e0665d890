// What the process back-end refuses, and how it says so: a missing command, an unusable state directory,
// bad service names and counts, and the default state directory's rules.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { context, records, stateDir, stopAllAndCheck } from '../../../test/fixtures/process/scheduler-kit.js';
import { defaultStateDir, ProcessScheduler } from './index.js';

test('a command that does not exist rejects with a clear error and leaves nothing behind', async (t) => {
  const { dir, pids } = await stateDir(t);
  const ctx = context({ web: { command: ['no-such-command-microscaler', '--flag'] } });
  const s = await ProcessScheduler.create({ stateDir: dir }, ctx);
  await assert.rejects(s.scale('web', 2, 'test'), (error: Error) => {
    assert.match(error.message, /"web"/);
    assert.match(error.message, /no-such-command-microscaler/);
    assert.match(error.message, /ENOENT/);
    assert.match(error.message, /2 of 2 replicas failed/);
    return true;
  });
  assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0 });
  assert.deepEqual(records(dir), []);
  await stopAllAndCheck(s, dir, pids);
});

test('an unusable state directory fails scale with a clear error, not a crash', async (t) => {
  const { dir, pids } = await stateDir(t);
  const file = join(dir, 'a-file');
  await writeFile(file, '');
  const s = await ProcessScheduler.create({ stateDir: join(file, 'state') }, context());
  await assert.rejects(s.scale('web', 1, 'test'), /state directory .*a-file\/state is not usable/);
  assert.deepEqual((await s.observe()).get('web'), { running: 0, starting: 0, stopping: 0 });
  await stopAllAndCheck(s, dir, pids);
});

test('rejects service names and counts it cannot act on', async (t) => {
  const { dir } = await stateDir(t);
  const s = await ProcessScheduler.create({ stateDir: dir }, context());
  await assert.rejects(s.scale('../../etc', 1, 'test'), /unknown service/);
  await assert.rejects(s.scale('other', 1, 'test'), /unknown service "other"/);
  await assert.rejects(s.scale('web', -1, 'test'), RangeError);
  await assert.rejects(s.scale('web', 1.5, 'test'), RangeError);
  await s.close();
  await assert.rejects(s.scale('web', 1, 'test'), /closed/);
});

test('the default state directory follows XDG and refuses instance names that are paths', () => {
  assert.equal(defaultStateDir('shop', { XDG_STATE_HOME: '/var/x' }), '/var/x/microscaler/shop');
  assert.match(defaultStateDir('shop', {}), /\/\.local\/state\/microscaler\/shop$/);
  assert.match(
    defaultStateDir('shop', { XDG_STATE_HOME: 'relative' }),
    /\/\.local\/state\/microscaler\/shop$/,
  );
  assert.throws(() => defaultStateDir('../etc', {}), /name:/);
  assert.throws(() => defaultStateDir('..', {}), /name:/);
});
