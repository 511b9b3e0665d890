/** The one error for a bad command line: the commands throw it, and it means exit status 2 with the message. */
export class UsageError extends Error {}
