// The service routes: read one service, change it at run time (min, max, priority, pause), push demand; bodies checked.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceChange } from '../controller/index.js';
import { SERVICE_NAME } from '../core/names.js';
import { type Context, requireController } from './context.js';
import { NotPushableError, UnknownServiceError } from './errors.js';
import { HttpError, jsonObject, parseJson, readBody, sendJson } from './http.js';
import { authorize } from './write-guard.js';

/** Largest request body read; bigger ones get 413 without being buffered. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Largest demand value accepted. */
export const MAX_DEMAND = 1e12;
const CHANGE_FIELDS = ['min', 'max', 'priority'] as const;

export function getService(_req: IncomingMessage, res: ServerResponse, ctx: Context, params: string[]) {
  const name = serviceName(params[0] ?? '');
  const service = ctx.options.snapshot().services.find((s) => s.name === name);
  if (!service) throw new UnknownServiceError(name);
  sendJson(res, 200, service);
}

export async function patchService(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: Context,
  params: string[],
) {
  authorize(req, ctx);
  const controller = requireController(ctx);
  const name = serviceName(params[0] ?? '');
  const example = '{"min": 1, "max": 10, "priority": 2}';
  const body = jsonObject(parseJson(await readBody(req, MAX_BODY_BYTES), example), example);
  const unknown = Object.keys(body).filter((k) => !(CHANGE_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new HttpError(
      400,
      `unknown field ${JSON.stringify(unknown[0])}: only min, max and priority can change`,
    );
  }
  const change: { -readonly [K in keyof ServiceChange]: number } = {};
  for (const field of CHANGE_FIELDS) {
    const value = body[field];
    if (value === undefined) continue;
    if (typeof value !== 'number') {
      throw new HttpError(
        400,
        `"${field}" must be an integer, not ${value === null ? 'null' : typeof value}`,
      );
    }
    change[field] = value;
  }
  if (Object.keys(change).length === 0) throw new HttpError(400, `nothing to change; send ${example}`);
  sendJson(res, 200, controller.update(name, change));
}

export async function pauseOrResume(
  action: 'pause' | 'resume',
  req: IncomingMessage,
  res: ServerResponse,
  ctx: Context,
  params: string[],
) {
  authorize(req, ctx);
  const controller = requireController(ctx);
  const name = serviceName(params[0] ?? '');
  await readBody(req, MAX_BODY_BYTES); // no body is needed; one is read (bounded) and ignored
  sendJson(res, 200, action === 'pause' ? controller.pause(name) : controller.resume(name));
}

export async function postDemand(req: IncomingMessage, res: ServerResponse, ctx: Context, params: string[]) {
  authorize(req, ctx);
  const service = serviceName(params[0] ?? '');
  const value = demandValue(parseJson(await readBody(req, MAX_BODY_BYTES), '{"value": N}'));
  try {
    await ctx.options.pushDemand(service, value);
  } catch (error) {
    if (error instanceof UnknownServiceError) throw new HttpError(404, error.message);
    if (error instanceof NotPushableError) throw new HttpError(409, error.message);
    throw error;
  }
  sendJson(res, 200, { service, value });
}

function serviceName(encoded: string): string {
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    throw new HttpError(400, 'service name in the URL is not valid percent-encoding');
  }
  if (!SERVICE_NAME.test(name)) {
    throw new HttpError(400, `invalid service name ${JSON.stringify(name)}: expected ${SERVICE_NAME.source}`);
  }
  return name;
}

function demandValue(parsed: unknown): number {
  const body = jsonObject(parsed, '{"value": 42}');
  const unknown = Object.keys(body).find((k) => k !== 'value');
  if (unknown !== undefined) {
    throw new HttpError(400, `unknown field ${JSON.stringify(unknown)}: send only {"value": N}`);
  }
  const value: unknown = Object.hasOwn(body, 'value') ? (body as { value: unknown }).value : undefined;
  if (value === undefined) throw new HttpError(400, '"value" is missing; send {"value": N}');
  if (typeof value !== 'number') {
    throw new HttpError(400, `"value" must be a number, not ${value === null ? 'null' : typeof value}`);
  }
  // JSON.parse turns 1e999 into Infinity.
  if (!Number.isFinite(value) || value < 0 || value > MAX_DEMAND) {
    throw new HttpError(400, `"value" must be a number from 0 to ${MAX_DEMAND}, not ${value}`);
  }
  return value + 0; // -0 becomes 0
}
