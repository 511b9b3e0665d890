import type { Logger, LogLevel } from '../core/ports.js';

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** One line per entry on a stream: `time level message key=value ...`, or JSON lines when json is set. */
export function streamLogger(
  stream: NodeJS.WritableStream,
  options: { level?: LogLevel; json?: boolean } = {},
): Logger {
  const min = ORDER[options.level ?? 'info'];
  return {
    log(level, message, fields) {
      if (ORDER[level] < min) return;
      const time = new Date().toISOString();
      if (options.json) {
        stream.write(`${JSON.stringify({ time, level, message, ...fields })}\n`);
        return;
      }
      const extra = fields
        ? Object.entries(fields)
            .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join('')
        : '';
      stream.write(`${time} ${level.padEnd(5)} ${message}${extra}\n`);
    },
  };
}

export const silentLogger: Logger = { log() {} };
