// The command line's usage text, printed by --help and after a usage error.

export const USAGE = `microscaler: sub-second, priority-aware microscaling of replicas within a fixed capacity

Usage:
  microscaler demo [--scheduler process|docker] [--image IMAGE] [--listen ADDR] [--duration 30s] [--seed N]
  microscaler run [-c microscaler.yaml] [--listen 127.0.0.1:8080] [--stop-on-exit] [--keep-removed]
  microscaler validate -c FILE
  microscaler plan -c FILE --demand NAME=VALUE ... [--running NAME=N ...] [--json]
  microscaler status [--url http://127.0.0.1:8080] [--json]
  microscaler simulate -c FILE --trace FILE.csv [--time-scale N] [--policies ...] [--json] [--plot FILE.html]

Options:
  --log-level debug|info|warn|error   what goes to stderr (default warn; events go to stdout)
  -h, --help                          this text
`;

/** What a command's --help does: the usage text, exit status 0. */
export function help(): number {
  process.stdout.write(USAGE);
  return 0;
}
