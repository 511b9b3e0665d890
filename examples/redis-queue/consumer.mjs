// One consumer replica: pops jobs from a Redis list and "works" on each for WORK_MS. Plain JavaScript so a
// replica starts in about 100 ms (no TypeScript loader): microscaling is only as fast as its replicas start.
// A job is the time (ms since the epoch) it was queued; each one done appends its waiting time to
// <QUEUE_KEY>:waits. SIGTERM lets the job in hand finish, then exits.
import { Redis } from 'ioredis';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const key = process.env.QUEUE_KEY ?? 'jobs';
const workMs = Number(process.env.WORK_MS ?? 100);

const redis = new Redis(url, { maxRetriesPerRequest: null });
let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});

while (!stopping) {
  // A short block, so a SIGTERM is noticed within a fraction of a second.
  const popped = await redis.blpop(key, 0.2);
  if (!popped) continue;
  const waited = Date.now() - Number(popped[1]);
  await new Promise((resolve) => setTimeout(resolve, workMs));
  await redis.rpush(`${key}:waits`, String(waited));
}
redis.disconnect();
