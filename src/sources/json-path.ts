/**
 * Follows a dotted path (`load.value`, `queues.0.depth`) into parsed JSON. Numbers select array items;
 * a key that itself contains a dot can be written with a backslash (`a\.b`). Throws with the part that
 * was not found and, for objects, the keys that exist there.
 */
export function atPath(document: unknown, path: string): unknown {
  let here = document;
  let walked = '';
  for (const key of splitPath(path)) {
    const at = walked ? `${walked}.${key}` : key;
    if (Array.isArray(here)) {
      if (!/^\d+$/.test(key) || Number(key) >= here.length) {
        throw new Error(`path "${at}" not found: "${walked || '(root)'}" is an array of ${here.length}`);
      }
      here = here[Number(key)];
    } else if (here !== null && typeof here === 'object') {
      if (!Object.hasOwn(here, key)) {
        const keys = Object.keys(here);
        const shown = keys.slice(0, 10).join(', ') + (keys.length > 10 ? ', …' : '');
        throw new Error(`path "${at}" not found (keys at "${walked || '(root)'}": ${shown || 'none'})`);
      }
      here = (here as Record<string, unknown>)[key];
    } else {
      throw new Error(`path "${at}" not found: "${walked || '(root)'}" is not an object`);
    }
    walked = at;
  }
  return here;
}

export function splitPath(path: string): string[] {
  const keys: string[] = [];
  let current = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === '\\' && path[i + 1] === '.') {
      current += '.';
      i++;
    } else if (c === '.') {
      keys.push(current);
      current = '';
    } else current += c;
  }
  keys.push(current);
  return keys;
}

/** Whether a path has no empty segment (`a..b`, `.a`, `a.`). */
export function isValidPath(path: string): boolean {
  return path.length > 0 && splitPath(path).every((k) => k.length > 0);
}
