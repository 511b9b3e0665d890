// One batch replica: background work that soaks up spare capacity. Every BATCH_STEP_MS of "work" adds one
// unit to <QUEUE_KEY>:batch, so a run can say how much batch work the spare capacity did.
import { Redis } from 'ioredis';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const key = process.env.QUEUE_KEY ?? 'jobs';
const stepMs = Number(process.env.BATCH_STEP_MS ?? 100);

const redis = new Redis(url, { maxRetriesPerRequest: null });
let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});
while (!stopping) {
  await new Promise((resolve) => setTimeout(resolve, stepMs));
  await redis.incr(`${key}:batch`);
}
redis.disconnect();
