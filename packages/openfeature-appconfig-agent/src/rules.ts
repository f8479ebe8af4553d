import { createHash } from "node:crypto";

/**
 * AWS AppConfig multi-variant flag rules: a parser (for validating rules before they are deployed)
 * and a reference evaluator (used by the local fake agent in tests and benchmarks). The syntax is
 * AppConfig's: s-expressions such as `(or (in $userId ["a", "b"]) (split by::$userId pct::5))`.
 *
 * Operators: eq gt gte lt lte, and or not, begins_with ends_with contains in matches exists split.
 * Operands: "strings", numbers, true/false, $contextKey, [lists], named arguments `name::value`.
 */

export type RuleNode =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "boolean"; readonly value: boolean }
  | { readonly kind: "context"; readonly key: string }
  | { readonly kind: "list"; readonly items: RuleNode[] }
  | { readonly kind: "call"; readonly op: string; readonly args: RuleNode[]; readonly named: Record<string, RuleNode> };

/** A rule that is not valid AppConfig syntax; `position` is the 0-based character offset. */
export class RuleSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`${reason} at character ${position + 1}`);
    this.name = "RuleSyntaxError";
  }
}

const COMPARISONS = ["eq", "gt", "gte", "lt", "lte"];
const STRING_OPS = ["begins_with", "ends_with", "contains"];
/** Operator → [positional argument count or "n" for 1+, named arguments required, named allowed]. */
const OPERATORS: Record<string, { positional: number | "n"; required: string[]; allowed: string[] }> = {
  ...Object.fromEntries(COMPARISONS.map((op) => [op, { positional: 2, required: [], allowed: [] }])),
  ...Object.fromEntries(STRING_OPS.map((op) => [op, { positional: 2, required: [], allowed: [] }])),
  and: { positional: "n", required: [], allowed: [] },
  or: { positional: "n", required: [], allowed: [] },
  not: { positional: 1, required: [], allowed: [] },
  in: { positional: 2, required: [], allowed: [] },
  matches: { positional: 0, required: ["in", "pattern"], allowed: ["in", "pattern"] },
  exists: { positional: 0, required: ["key"], allowed: ["key"] },
  split: { positional: 0, required: ["by", "pct"], allowed: ["by", "pct", "seed"] },
};

type Token =
  | { t: "(" | ")" | "[" | "]" | ","; at: number }
  | { t: "string"; value: string; at: number }
  | { t: "name"; value: string; at: number }
  | { t: "atom"; value: string; at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if ("()[],".includes(c)) {
      tokens.push({ t: c as "(", at: i });
      i++;
    } else if (c === '"') {
      const start = i;
      let value = "";
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i];
        i++;
      }
      if (i >= text.length) throw new RuleSyntaxError("unterminated string", start);
      i++;
      tokens.push({ t: "string", value, at: start });
    } else {
      const start = i;
      while (i < text.length && !/[\s()[\],"]/.test(text[i]) && !(text[i] === ":" && text[i + 1] === ":")) i++;
      const word = text.slice(start, i);
      if (text[i] === ":" && text[i + 1] === ":") {
        if (!/^[a-z_]+$/.test(word)) throw new RuleSyntaxError(`bad argument name "${word}"`, start);
        i += 2;
        tokens.push({ t: "name", value: word, at: start });
      } else {
        tokens.push({ t: "atom", value: word, at: start });
      }
    }
  }
  return tokens;
}

/** Parses one rule expression; throws RuleSyntaxError naming what is wrong and where. */
export function parseRule(text: string): RuleNode {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const end = text.length;

  function operand(): RuleNode {
    const token = tokens[pos];
    if (!token) throw new RuleSyntaxError("unexpected end of rule", end);
    pos++;
    switch (token.t) {
      case "(":
        pos--;
        return call();
      case "[": {
        const items: RuleNode[] = [];
        while (peek() && peek().t !== "]") {
          items.push(operand());
          if (peek()?.t === ",") pos++;
        }
        if (!peek()) throw new RuleSyntaxError("unclosed list", token.at);
        pos++;
        return { kind: "list", items };
      }
      case "string":
        return { kind: "string", value: token.value };
      case "atom": {
        const word = token.value;
        if (word === "true" || word === "false") return { kind: "boolean", value: word === "true" };
        if (/^\$[A-Za-z_][A-Za-z0-9_.-]*$/.test(word)) return { kind: "context", key: word.slice(1) };
        if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(word)) return { kind: "number", value: Number(word) };
        throw new RuleSyntaxError(`unexpected "${word}" (strings need double quotes, context values a $)`, token.at);
      }
      default:
        throw new RuleSyntaxError(`unexpected "${token.t === "name" ? token.value + "::" : token.t}"`, token.at);
    }
  }

  function call(): RuleNode {
    const open = tokens[pos];
    if (!open || open.t !== "(") throw new RuleSyntaxError("a rule must start with (", open?.at ?? end);
    pos++;
    const opToken = tokens[pos];
    if (!opToken || opToken.t !== "atom") throw new RuleSyntaxError("expected an operator after (", opToken?.at ?? end);
    pos++;
    const op = opToken.value;
    const spec = OPERATORS[op];
    if (!spec) throw new RuleSyntaxError(`unknown operator "${op}" (use one of ${Object.keys(OPERATORS).join(", ")})`, opToken.at);
    const args: RuleNode[] = [];
    const named: Record<string, RuleNode> = {};
    while (peek() && peek().t !== ")") {
      const token = peek();
      if (token.t === "name") {
        pos++;
        if (!spec.allowed.includes(token.value)) throw new RuleSyntaxError(`${op} takes no argument "${token.value}::"`, token.at);
        named[token.value] = operand();
      } else {
        args.push(operand());
      }
    }
    if (!peek()) throw new RuleSyntaxError(`unclosed "(${op}"`, open.at);
    pos++;
    const count = spec.positional;
    if (count === "n" ? args.length < 1 : args.length !== count) {
      throw new RuleSyntaxError(`${op} takes ${count === "n" ? "at least 1" : count} operand(s), got ${args.length}`, opToken.at);
    }
    for (const name of spec.required) {
      if (!(name in named)) throw new RuleSyntaxError(`${op} needs ${name}::`, opToken.at);
    }
    if (op === "split") {
      const pct = named.pct;
      if (pct.kind !== "number" || pct.value < 0 || pct.value > 100) throw new RuleSyntaxError("split pct:: must be a number from 0 to 100", opToken.at);
      if (named.by.kind !== "context") throw new RuleSyntaxError("split by:: must be a context value such as $userId", opToken.at);
    }
    if (op === "in" && args[1].kind !== "list") throw new RuleSyntaxError("in takes a [list] as its second operand", opToken.at);
    if (op === "matches" && named.pattern.kind === "string") {
      try {
        new RegExp(named.pattern.value);
      } catch {
        throw new RuleSyntaxError(`bad pattern ${JSON.stringify(named.pattern.value)}`, opToken.at);
      }
    }
    return { kind: "call", op, args, named };
  }

  const node = call();
  if (pos < tokens.length) throw new RuleSyntaxError("unexpected text after the rule", tokens[pos].at);
  return node;
}

/** The context keys a rule reads ($userId → "userId"). */
export function ruleContextKeys(node: RuleNode, into = new Set<string>()): Set<string> {
  if (node.kind === "context") into.add(node.key);
  if (node.kind === "list") node.items.forEach((n) => ruleContextKeys(n, into));
  if (node.kind === "call") {
    node.args.forEach((n) => ruleContextKeys(n, into));
    Object.values(node.named).forEach((n) => ruleContextKeys(n, into));
    if (node.op === "exists" && node.named.key.kind === "string") into.add(node.named.key.value);
  }
  return into;
}

/**
 * The bucket (0 ≤ b < 100) `split` puts a value in: a consistent hash of seed and value, so a user
 * stays in the same bucket and raising pct only ever adds users. (A reference implementation: the
 * real agent's hash differs, its guarantees are the same.)
 */
export function splitBucket(value: string, seed = ""): number {
  const digest = createHash("sha256").update(`${seed}\u0000${value}`).digest();
  return (digest.readUInt32BE(0) / 0x100000000) * 100;
}

type Value = string | number | boolean | undefined | Value[];

function value(node: RuleNode, context: Readonly<Record<string, string>>): Value {
  switch (node.kind) {
    case "string":
    case "number":
    case "boolean":
      return node.value;
    case "context":
      return context[node.key];
    case "list":
      return node.items.map((n) => value(n, context));
    case "call":
      return evaluateRule(node, context);
  }
}

function compare(a: Value, b: Value): number | undefined {
  if (a === undefined || b === undefined) return undefined;
  const na = Number(a);
  const nb = Number(b);
  if (typeof a !== "boolean" && typeof b !== "boolean" && a !== "" && b !== "" && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Evaluates a parsed rule against string context values (as the agent receives them). */
export function evaluateRule(node: RuleNode, context: Readonly<Record<string, string>>): boolean {
  if (node.kind !== "call") return Boolean(value(node, context));
  const a = () => value(node.args[0], context);
  const b = () => value(node.args[1], context);
  switch (node.op) {
    case "and":
      return node.args.every((n) => value(n, context) === true);
    case "or":
      return node.args.some((n) => value(n, context) === true);
    case "not":
      return value(node.args[0], context) !== true;
    case "eq": {
      const left = a();
      const right = b();
      return left !== undefined && String(left) === String(right);
    }
    case "gt":
      return (compare(a(), b()) ?? 0) > 0;
    case "gte":
      return (compare(a(), b()) ?? -1) >= 0;
    case "lt":
      return (compare(a(), b()) ?? 0) < 0;
    case "lte":
      return (compare(a(), b()) ?? 1) <= 0;
    case "begins_with":
    case "ends_with":
    case "contains": {
      const left = a();
      if (left === undefined) return false;
      const s = String(left);
      const t = String(b());
      return node.op === "begins_with" ? s.startsWith(t) : node.op === "ends_with" ? s.endsWith(t) : s.includes(t);
    }
    case "in": {
      const left = a();
      const list = b();
      return left !== undefined && Array.isArray(list) && list.some((item) => String(item) === String(left));
    }
    case "matches": {
      const input = value(node.named.in, context);
      return input !== undefined && new RegExp(String(value(node.named.pattern, context))).test(String(input));
    }
    case "exists": {
      const key = value(node.named.key, context);
      return typeof key === "string" && context[key] !== undefined;
    }
    case "split": {
      const by = value(node.named.by, context);
      if (by === undefined || by === "") return false;
      const seed = node.named.seed ? String(value(node.named.seed, context)) : "";
      return splitBucket(String(by), seed) < Number(value(node.named.pct, context));
    }
    default:
      throw new Error(`unknown operator ${node.op}`);
  }
}
