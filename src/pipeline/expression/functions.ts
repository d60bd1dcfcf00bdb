import type { CallExpr, Expr } from "./ast.js";
import { ExpressionError, errorAt } from "./errors.js";
import type { EvalContext } from "./evaluate.js";
import { deepEqual, describeType, toJson, toText } from "./values.js";

/** What the docs, the schema and static checks need to know about a function. */
export interface FunctionInfo {
  minArgs: number;
  /** `Infinity` for variadic functions. */
  maxArgs: number;
  summary: string;
  /** true for success/failure/always/cancelled: only meaningful in `if`. */
  status?: boolean;
}

/** A call being evaluated: its node, its context and helpers to report a bad argument. */
export interface Call {
  node: CallExpr;
  ctx: EvalContext;
  /** An error at argument `index`, or at the whole call when omitted. */
  error(message: string, index?: number): ExpressionError;
}

interface FunctionDefinition extends FunctionInfo {
  run(args: unknown[], call: Call): unknown;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_DURATION_RE = /^([+-]?)(\d+)([dw])$/;
const FORMAT_TOKEN_RE = /\{(\d+)\}/y;
const DAY_MS = 86_400_000;

const DEFINITIONS: Record<string, FunctionDefinition> = {
  success: {
    minArgs: 0,
    maxArgs: 0,
    status: true,
    summary: "true when no earlier task failed and the run was not cancelled",
    run: (_, { ctx }) => ctx.status?.success ?? true,
  },
  failure: {
    minArgs: 0,
    maxArgs: 0,
    status: true,
    summary: "true when an earlier task failed",
    run: (_, { ctx }) => ctx.status?.failure ?? false,
  },
  cancelled: {
    minArgs: 0,
    maxArgs: 0,
    status: true,
    summary: "true when the run was cancelled",
    run: (_, { ctx }) => ctx.status?.cancelled ?? false,
  },
  always: {
    minArgs: 0,
    maxArgs: 0,
    status: true,
    summary: "always true: run the task whatever happened before",
    run: () => true,
  },
  today: {
    minArgs: 0,
    maxArgs: 0,
    summary: "the run's date as YYYY-MM-DD",
    run: (_, { ctx }) => {
      const runDate = ctx.run?.date;
      return ctx.today ?? (typeof runDate === "string" ? runDate : localDate(new Date()));
    },
  },
  trading_days_ago: {
    minArgs: 1,
    maxArgs: 1,
    summary: "the date (YYYY-MM-DD) n trading days before today, on the exchange calendar",
    run: ([n], call) => {
      if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
        throw call.error(`trading_days_ago() expects a whole number >= 0, got ${describeValue(n)}`, 0);
      }
      const tradingDaysAgo = call.ctx.tradingDaysAgo;
      if (!tradingDaysAgo)
        throw call.error("trading_days_ago() needs a trading calendar, and none is available here");
      try {
        return tradingDaysAgo(n);
      } catch (cause) {
        if (cause instanceof ExpressionError) throw cause;
        const reason = cause instanceof Error ? cause.message : String(cause);
        throw errorAt(`trading_days_ago(${n}) failed: ${reason}`, call.node, { cause });
      }
    },
  },
  date_add: {
    minArgs: 2,
    maxArgs: 2,
    summary: "date_add('2024-01-31', '3d'): a YYYY-MM-DD date plus whole days or weeks ('-2d', '1w')",
    run: (args, call) => {
      const date = stringArg(args, 0, call);
      const duration = stringArg(args, 1, call);
      const time = parseDate(date);
      if (time === undefined) throw call.error(`date_add() expects a date as YYYY-MM-DD, got '${date}'`, 0);
      const days = parseDays(duration);
      if (days === undefined) {
        throw call.error(
          `date_add() expects a duration of whole days or weeks like '3d', '-2d' or '1w', got '${duration}'`,
          1,
        );
      }
      const result = formatDate(time + days * DAY_MS);
      if (result === undefined) throw call.error("date_add() result is out of range");
      return result;
    },
  },
  format: {
    minArgs: 1,
    maxArgs: Number.POSITIVE_INFINITY,
    summary: "format('{0} on {1}', a, b): replaces {n} with argument n; '{{' and '}}' are literal braces",
    run: (args, call) => formatString(stringArg(args, 0, call), args.slice(1), call),
  },
  contains: {
    minArgs: 2,
    maxArgs: 2,
    summary: "whether a list holds a value (deep equality), or a string holds a substring (case-sensitive)",
    run: ([haystack, needle], call) => {
      if (Array.isArray(haystack)) return haystack.some((item) => deepEqual(item ?? null, needle, call.node));
      if (typeof haystack !== "string")
        throw call.error(`contains() expects a list or a string, got ${describeType(haystack)}`, 0);
      if (typeof needle !== "string")
        throw call.error(`contains() on a string expects a string, got ${describeType(needle)}`, 1);
      return haystack.includes(needle);
    },
  },
  join: {
    minArgs: 1,
    maxArgs: 2,
    summary: "join(list, sep = ','): the items as text, separated by sep",
    run: (args, call) => {
      const list = listArg(args, 0, call);
      const separator = args.length > 1 ? stringArg(args, 1, call) : ",";
      return list.map((item) => toText(item, call.node)).join(separator);
    },
  },
  length: {
    minArgs: 1,
    maxArgs: 1,
    summary: "the number of items in a list, or of characters in a string",
    run: ([value], call) => {
      if (Array.isArray(value)) return value.length;
      if (typeof value === "string") return [...value].length;
      throw call.error(`length() expects a list or a string, got ${describeType(value)}`, 0);
    },
  },
  starts_with: {
    minArgs: 2,
    maxArgs: 2,
    summary: "whether a string starts with a prefix (case-sensitive)",
    run: (args, call) => stringArg(args, 0, call).startsWith(stringArg(args, 1, call)),
  },
  ends_with: {
    minArgs: 2,
    maxArgs: 2,
    summary: "whether a string ends with a suffix (case-sensitive)",
    run: (args, call) => stringArg(args, 0, call).endsWith(stringArg(args, 1, call)),
  },
  lower: {
    minArgs: 1,
    maxArgs: 1,
    summary: "the string in lower case",
    run: (args, call) => stringArg(args, 0, call).toLowerCase(),
  },
  upper: {
    minArgs: 1,
    maxArgs: 1,
    summary: "the string in upper case",
    run: (args, call) => stringArg(args, 0, call).toUpperCase(),
  },
  to_json: {
    minArgs: 1,
    maxArgs: 1,
    summary: "the value as compact JSON text",
    run: ([value], call) => toJson(value, call.node.args[0] ?? call.node),
  },
  from_json: {
    minArgs: 1,
    maxArgs: 1,
    summary: "the value parsed from JSON text",
    run: (args, call) => {
      const text = stringArg(args, 0, call);
      try {
        return JSON.parse(text);
      } catch (cause) {
        throw call.error(`from_json() got invalid JSON: ${(cause as Error).message}`, 0);
      }
    },
  },
  coalesce: {
    minArgs: 1,
    maxArgs: Number.POSITIVE_INFINITY,
    summary: "the first argument that is not null (null when all are)",
    run: (args) => args.find((arg) => arg !== null) ?? null,
  },
};

/** The functions an expression can call, by name (a null-prototype object: `FUNCTIONS.toString` is undefined). */
export const FUNCTIONS: Readonly<Record<string, FunctionInfo>> = Object.freeze(
  Object.assign(
    Object.create(null) as Record<string, FunctionInfo>,
    Object.fromEntries(Object.entries(DEFINITIONS).map(([name, { run: _run, ...info }]) => [name, info])),
  ),
);

/** Checks arity and runs a known function; `args` are already evaluated. */
export function callFunction(node: CallExpr, args: unknown[], ctx: EvalContext): unknown {
  const call: Call = {
    node,
    ctx,
    error(message: string, index?: number): ExpressionError {
      const at: Expr = (index === undefined ? undefined : node.args[index]) ?? node;
      return errorAt(message, at);
    },
  };
  const definition = Object.hasOwn(DEFINITIONS, node.name) ? DEFINITIONS[node.name] : undefined;
  if (!definition) throw call.error(`unknown function '${node.name}'`);
  const { minArgs, maxArgs } = definition;
  if (args.length < minArgs || args.length > maxArgs) {
    throw call.error(`${node.name}() expects ${arityText(minArgs, maxArgs)}, got ${args.length}`);
  }
  return definition.run(args, call);
}

function arityText(min: number, max: number): string {
  const plural = (n: number) => `${n} argument${n === 1 ? "" : "s"}`;
  if (min === max) return plural(min);
  if (max === Number.POSITIVE_INFINITY) return `at least ${plural(min)}`;
  return `${min} to ${plural(max)}`;
}

function stringArg(args: unknown[], index: number, call: Call): string {
  const value = args[index];
  if (typeof value !== "string")
    throw call.error(`${call.node.name}() expects a string, got ${describeType(value)}`, index);
  return value;
}

function listArg(args: unknown[], index: number, call: Call): unknown[] {
  const value = args[index];
  if (!Array.isArray(value))
    throw call.error(`${call.node.name}() expects a list, got ${describeType(value)}`, index);
  return value;
}

function describeValue(value: unknown): string {
  return typeof value === "number" ? String(value) : describeType(value);
}

/** GitHub Actions style: `{0}` is argument 0, `{{` and `}}` are literal braces. */
function formatString(format: string, args: unknown[], call: Call): string {
  let out = "";
  let pos = 0;
  while (pos < format.length) {
    const ch = format[pos]!;
    if ((ch === "{" || ch === "}") && format[pos + 1] === ch) {
      out += ch;
      pos += 2;
    } else if (ch === "{") {
      FORMAT_TOKEN_RE.lastIndex = pos;
      const match = FORMAT_TOKEN_RE.exec(format);
      if (!match) throw call.error(`format() string has an unmatched '{' at position ${pos}`, 0);
      const index = Number(match[1]);
      if (index >= args.length)
        throw call.error(`format() string uses {${match[1]}} but only ${args.length} values follow it`, 0);
      out += toText(args[index], call.node);
      pos += match[0].length;
    } else if (ch === "}") {
      throw call.error(`format() string has an unmatched '}' at position ${pos}; write '}}' for a brace`, 0);
    } else {
      out += ch;
      pos++;
    }
  }
  return out;
}

/** Days in '3d', '-2d', '1w', or undefined. */
function parseDays(duration: string): number | undefined {
  const match = DAY_DURATION_RE.exec(duration);
  if (!match) return undefined;
  const days = Number(match[2]) * (match[3] === "w" ? 7 : 1);
  return match[1] === "-" ? -days : days;
}

/** UTC midnight of a real YYYY-MM-DD date, in ms, or undefined. */
function parseDate(text: string): number | undefined {
  const match = DATE_RE.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC, which maps years 0-99 to 1900-1999
  const roundTrips =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return roundTrips ? date.getTime() : undefined;
}

/** YYYY-MM-DD of a UTC time, or undefined outside years 0000-9999. */
function formatDate(time: number): string | undefined {
  const date = new Date(time);
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) return undefined;
  return `${pad(year, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`;
}

function localDate(date: Date): string {
  return `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1, 2)}-${pad(date.getDate(), 2)}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}
