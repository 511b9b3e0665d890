// A fake AWS SQS endpoint for the sqs source's tests: no real SQS can be reached from here. It speaks the
// AWS JSON 1.0 protocol the SDK uses for SQS (POST /, `X-Amz-Target: AmazonSQS.<Action>`, documented in the
// SQS API Reference) for the actions the tests need: GetQueueAttributes, SendMessage, ReceiveMessage,
// DeleteMessage. Messages move between visible, in flight (received, not deleted, until their visibility
// timeout) and delayed, as in SQS; its counts are exact where SQS's are approximate.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

interface Message {
  readonly id: string;
  readonly body: string;
  /** Visible from this time (ms); later than now while delayed or in flight. */
  visibleAt: number;
  receipt: string | undefined;
  received: boolean;
}

export class FakeSqs {
  readonly #queues = new Map<string, Message[]>();
  #server: Server | undefined;
  url = '';
  /** Access key ids of signed requests, in order; unsigned requests record `unsigned`. */
  readonly accessKeys: string[] = [];
  /** When set, every request gets this status and a 500-class error. */
  failWith: number | undefined;

  static async start(): Promise<FakeSqs> {
    const fake = new FakeSqs();
    fake.#server = createServer((req, res) => fake.#handle(req, res));
    await new Promise<void>((resolve) => fake.#server?.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.#server.address() as { port: number }).port}`;
    return fake;
  }

  createQueue(name: string): string {
    this.#queues.set(name, []);
    return `${this.url}/123456789012/${name}`;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const credential = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    this.accessKeys.push(credential ?? 'unsigned');
    const target = String(req.headers['x-amz-target'] ?? '');
    const reply = (status: number, body: unknown, queryError?: string) => {
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        ...(queryError ? { 'x-amzn-query-error': queryError } : {}),
      });
      res.end(JSON.stringify(body));
    };
    if (this.failWith) {
      reply(this.failWith, { __type: 'com.amazonaws.sqs#InternalError', message: 'fake failure' });
      return;
    }
    if (req.method !== 'POST' || !target.startsWith('AmazonSQS.')) {
      reply(400, { __type: 'com.amazonaws.sqs#InvalidAction', message: `unsupported: ${target}` });
      return;
    }
    const input = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
    const name =
      String(input.QueueUrl ?? '')
        .split('/')
        .pop() ?? '';
    const queue = this.#queues.get(name);
    if (!queue) {
      reply(
        400,
        { __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' },
        'AWS.SimpleQueueService.NonExistentQueue;Sender',
      );
      return;
    }
    const now = Date.now();
    switch (target.slice('AmazonSQS.'.length)) {
      case 'GetQueueAttributes': {
        const visible = queue.filter((m) => m.visibleAt <= now).length;
        const inFlight = queue.filter((m) => m.visibleAt > now && m.received).length;
        const delayed = queue.filter((m) => m.visibleAt > now && !m.received).length;
        const all: Record<string, string> = {
          ApproximateNumberOfMessages: String(visible),
          ApproximateNumberOfMessagesNotVisible: String(inFlight),
          ApproximateNumberOfMessagesDelayed: String(delayed),
        };
        const names = (input.AttributeNames as string[] | undefined) ?? ['All'];
        const Attributes = Object.fromEntries(
          Object.entries(all).filter(([k]) => names.includes('All') || names.includes(k)),
        );
        reply(200, { Attributes });
        return;
      }
      case 'SendMessage': {
        const body = String(input.MessageBody ?? '');
        const id = randomUUID();
        const delay = Number(input.DelaySeconds ?? 0) * 1000;
        queue.push({ id, body, visibleAt: now + delay, receipt: undefined, received: false });
        reply(200, { MessageId: id, MD5OfMessageBody: md5(body) });
        return;
      }
      case 'ReceiveMessage': {
        const max = Number(input.MaxNumberOfMessages ?? 1);
        const timeout = Number(input.VisibilityTimeout ?? 30) * 1000;
        const taken = queue.filter((m) => m.visibleAt <= now).slice(0, max);
        for (const m of taken) {
          m.visibleAt = now + timeout;
          m.receipt = randomUUID();
          m.received = true;
        }
        reply(200, {
          Messages: taken.map((m) => ({
            MessageId: m.id,
            ReceiptHandle: m.receipt,
            Body: m.body,
            MD5OfBody: md5(m.body),
          })),
        });
        return;
      }
      case 'DeleteMessage': {
        const i = queue.findIndex((m) => m.receipt === input.ReceiptHandle);
        if (i >= 0) queue.splice(i, 1);
        reply(200, {});
        return;
      }
      default:
        reply(400, { __type: 'com.amazonaws.sqs#InvalidAction', message: `unsupported: ${target}` });
    }
  }
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}
