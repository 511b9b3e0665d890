// Parses config text (YAML 1.2, or strict JSON) into plain data: depth, syntax and duplicate keys checked.

import { Composer, type CST, type Document, isMap, isScalar, LineCounter, Parser, visit } from 'yaml';
import { ConfigError, errorMessage } from '../core/errors.js';
import { MAX_DEPTH } from './env.js';
import { capped, describe } from './problems.js';
import { jsonSyntaxProblem } from './strict-json.js';

/** Syntax errors listed before the rest are summed up: after the first few they are mostly echoes. */
const MAX_SYNTAX_ERRORS = 20;

/** The document as plain data, or a ConfigError with the syntax errors. */
export function parseText(text: string, json: boolean): unknown {
  const lineCounter = new LineCounter();
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `config: line ${line}, column ${col}`;
  };
  let value: unknown;
  try {
    const source = text.replace(/^\uFEFF/, '');
    // The parser keeps its own stack; composing (below) recurses once per level. Past a few thousand
    // levels that overflows the call stack, and V8 may then die outright (a fatal "RegExpCompiler
    // allocation failed") instead of throwing, so depth is measured on the parser's tokens first.
    const tokens = [...new Parser(lineCounter.addNewLine).parse(source)];
    const deep = tooDeep(tokens, MAX_DEPTH);
    if (deep !== undefined) throw new ConfigError([`${at(deep)}: nested more than ${MAX_DEPTH} levels deep`]);
    const composer = new Composer({
      prettyErrors: false,
      logLevel: 'silent',
      // The JSON schema refuses YAML-only scalars (yes, ~, bare words) in a .json file.
      schema: json ? 'json' : 'core',
      // The parser's own check compares every key with every other (quadratic: minutes for a big map).
      uniqueKeys: false,
      // `<<: *defaults` merges an anchored map, as YAML 1.1 and Compose files do; JSON has no such thing.
      merge: !json,
    });
    const docs = [...composer.compose(tokens, true, source.length)];
    const [doc, second] = docs;
    if (!doc) throw new ConfigError(['config: the document is empty']);
    if (json) {
      const problem = jsonSyntaxProblem(source);
      if (problem) throw new ConfigError([`${at(problem.offset)}: not valid JSON: ${problem.message}`]);
    }
    if (second) {
      const offset = second.range[0];
      throw new ConfigError([`${at(offset)}: a second document (after ---); a config is one document`]);
    }
    if (doc.errors.length === 0) {
      const duplicates = duplicateKeys(doc, lineCounter, !json);
      if (duplicates.length > 0) throw new ConfigError(capped(duplicates));
    }
    if (doc.errors.length > 0) {
      // The parser reports a stack overflow once per level it unwinds; one line says it.
      const overflow = doc.errors.find((error) => error.message.includes('call stack'));
      const shown = overflow ? [overflow] : doc.errors.slice(0, MAX_SYNTAX_ERRORS);
      const lines = shown.map((error) => {
        const message = error === overflow ? 'nested too deeply' : error.message.replace(/\s+/g, ' ');
        return `${at(error.pos[0])}: ${message}`;
      });
      const more = doc.errors.length - MAX_SYNTAX_ERRORS;
      if (!overflow && more > 0) lines.push(`config: ${more} more syntax errors`);
      throw new ConfigError(lines);
    }
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // Alias bombs (the message says so), or nesting deep enough to exhaust the stack.
    const message = errorMessage(error).includes('call stack') ? 'nested too deeply' : errorMessage(error);
    throw new ConfigError([`config: ${message}`]);
  }
  if (value === null || value === undefined) throw new ConfigError(['config: the document is empty']);
  return value;
}

/**
 * The offset of the first collection nested deeper than `limit` in the parser's tokens, or undefined.
 * A walk with an explicit stack: it must not recurse, since the tokens may be nested a million deep.
 */
function tooDeep(tokens: readonly CST.Token[], limit: number): number | undefined {
  type Node = { type?: string; offset?: number; items?: unknown[]; key?: unknown; value?: unknown };
  const stack: Array<[Node, number]> = tokens.map((token) => [token as Node, 0]);
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [node, above] = next;
    const collection =
      node.type === 'block-map' || node.type === 'block-seq' || node.type === 'flow-collection';
    const depth = collection ? above + 1 : above;
    if (depth > limit) return node.offset ?? 0;
    // Documents and collection items hold their children under key and value; collections under items.
    for (const child of [node.key, node.value, ...(node.items ?? [])]) {
      if (typeof child === 'object' && child !== null) stack.push([child as Node, depth]);
    }
  }
  return undefined;
}

const MERGE_KEY = '<<';

/**
 * `config: line L, column C: duplicate key "K"` for every repeated key of every map, in one pass with a set
 * per map. Keys are compared as the strings they become (`1` and `"1"` collide), since that is what a
 * silently dropped setting would look like after loading.
 */
function duplicateKeys(doc: Document, lineCounter: LineCounter, merge: boolean): string[] {
  const problems: string[] = [];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue; // complex keys (`? [a, b]`) never match a setting anyway
        const name = String(key.value);
        // Several merge keys in one map each merge their maps (earlier ones win), as `<<: [*a, *b]` does.
        if (merge && name === MERGE_KEY && key.type === 'PLAIN') continue;
        if (!seen.has(name)) {
          seen.add(name);
          continue;
        }
        const { line, col } = lineCounter.linePos(key.range?.[0] ?? 0);
        problems.push(`config: line ${line}, column ${col}: duplicate key ${describe(name)}`);
      }
    },
  });
  return problems;
}
