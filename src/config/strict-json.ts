// A .json config must be JSON: the YAML parser that builds the document (for its duplicate-key and depth
// checks, shared with YAML files) reads JSON-like flow text leniently, with trailing commas, `#` comments
// and single quotes. JSON.parse is the judge of what is JSON.

/** Where JSON.parse's message says the problem is ("... in JSON at position 7"), and the message without it. */
const AT_POSITION = /(?: in JSON)? at position (\d+).*$/s;
/** V8 echoes (part of) the text instead of a position in some messages: `Unexpected token 'x', "xx"... is not valid JSON`. */
const ECHO = /, (?:\.\.\.)?".*$/s;

export interface JsonSyntaxProblem {
  readonly offset: number;
  readonly message: string;
}

/** Undefined when `text` is JSON; else what JSON.parse found wrong, and where. */
export function jsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    // A problem is one line: a raw control character JSON.parse quotes from the text (`'\n'`) is escaped.
    const message = (error instanceof Error ? error.message : String(error)).replace(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
      /[\u0000-\u001f]/g,
      (c) => JSON.stringify(c).slice(1, -1),
    );
    const position = AT_POSITION.exec(message);
    if (position) return { offset: Number(position[1]), message: message.replace(AT_POSITION, '') };
    return { offset: firstBadOffset(text), message: message.replace(ECHO, '') };
  }
}

const WHITESPACE = /[ \t\n\r]*/y;
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON refuses raw control characters in a string
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;

/**
 * The offset at which `text` stops being JSON, for the messages where JSON.parse names none. A scanner
 * with an explicit stack (the text may nest deeply): what comes next is a value, a key, or a `,`/`:`/close.
 */
function firstBadOffset(text: string): number {
  let at = 0;
  const match = (pattern: RegExp) => {
    pattern.lastIndex = at;
    if (!pattern.test(text)) return false;
    at = pattern.lastIndex;
    return true;
  };
  const skip = () => match(WHITESPACE);
  const closers: string[] = [];
  // After a value: `,` or closers, or the end of the text at the top.
  const afterValue = (): boolean => {
    for (;;) {
      skip();
      const closer = closers[closers.length - 1];
      if (closer === undefined) return at === text.length;
      if (text[at] !== closer) break;
      closers.pop();
      at++;
    }
    if (text[at] !== ',') return false;
    at++;
    skip();
    return closers[closers.length - 1] === '}' ? key() : true;
  };
  const key = (): boolean => {
    if (!match(STRING)) return false;
    skip();
    if (text[at] !== ':') return false;
    at++;
    skip();
    return true;
  };
  skip();
  for (;;) {
    const start = at;
    const c = text[at];
    if (c === '{' || c === '[') {
      at++;
      skip();
      if (text[at] === (c === '{' ? '}' : ']')) {
        at++;
        if (!afterValue()) return at;
        continue;
      }
      closers.push(c === '{' ? '}' : ']');
      if (c === '{' && !key()) return at;
      continue;
    }
    if (!(match(STRING) || match(NUMBER) || match(LITERAL))) return start;
    if (!afterValue()) return at;
    if (closers.length === 0) return at; // the whole text was JSON after all: JSON.parse saw otherwise
  }
}
