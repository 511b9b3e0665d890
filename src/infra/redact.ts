// Keeping credentials out of messages, for sources and back-ends alike: URLs shown without userinfo or
// query, and known secrets masked wherever a client library echoes them.
/**
 * Keeps credentials out of error messages and logs. Client libraries sometimes echo the URL they were given
 * (or a part of it) in their errors, so every message a source reports passes through redact().
 */
export class Redactor {
  private readonly secrets: string[];

  /** Secrets shorter than 3 characters are ignored: masking them would mangle ordinary words. */
  constructor(secrets: Iterable<string | undefined>) {
    const found = new Set<string>();
    for (const s of secrets) {
      if (!s || s.length < 3) continue;
      found.add(s);
      // Libraries may print the encoded or the decoded form.
      found.add(encodeURIComponent(s));
      try {
        found.add(decodeURIComponent(s));
      } catch {
        // not percent-encoded: the raw form is enough
      }
    }
    // Longest first, so a secret that contains another is masked whole.
    this.secrets = [...found].sort((a, b) => b.length - a.length);
  }

  /** The secrets a URL carries: its password and, when there is a password, the whole userinfo. */
  static forUrls(urls: Iterable<string | undefined>, extra: Iterable<string | undefined> = []): Redactor {
    const secrets: (string | undefined)[] = [...extra];
    for (const url of urls) {
      if (!url) continue;
      const parsed = safeUrl(url);
      if (parsed?.password) secrets.push(parsed.password);
      // A token is often given as the user part alone (nats://TOKEN@host).
      if (parsed?.username && !parsed.password && parsed.protocol.startsWith('nats'))
        secrets.push(parsed.username);
      for (const [key, value] of parsed?.searchParams ?? []) {
        if (/pass|secret|token|key/i.test(key)) secrets.push(value);
      }
    }
    return new Redactor(secrets);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }
}

/** A URL as it may appear in a log line: scheme, host and path, with no user, password or query. */
export function displayUrl(url: string): string {
  const parsed = safeUrl(url);
  if (!parsed) return '(invalid URL)';
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

export function safeUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}
