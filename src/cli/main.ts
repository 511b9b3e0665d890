// microscaler's command line: picks the command (one file each in commands/) and turns a failure into an
// exit status: 0 ok, 1 runtime failure, 2 bad config or usage.
import { ConfigError, errorMessage } from '../core/errors.js';
import { ClaimedError } from '../ha/claim.js';
import { demo } from './commands/demo.js';
import { planCommand } from './commands/plan.js';
import { run } from './commands/run.js';
import { simulateCommand } from './commands/simulate.js';
import { status } from './commands/status.js';
import { USAGE } from './commands/usage.js';
import { validate } from './commands/validate.js';
import { UsageError } from './usage-error.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      return demo(rest);
    case 'run':
      return run(rest);
    case 'validate':
      return validate(rest);
    case 'plan':
      return planCommand(rest);
    case 'status':
      return status(rest);
    case 'simulate':
      return simulateCommand(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.problems.join('\n')}\n`);
      process.exit(2);
    }
    // Another live instance of this name holds the back-end: acting too would fight it.
    if (error instanceof ClaimedError) {
      process.stderr.write(`microscaler: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof UsageError) {
      process.stderr.write(`microscaler: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`microscaler: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
