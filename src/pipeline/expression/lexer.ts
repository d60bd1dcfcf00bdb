import { ExpressionError, errorAt, type Span } from "./errors.js";

export interface Token extends Span {
  kind: "number" | "string" | "name" | "op" | "eof";
  /** The source text of the token (for `op`, the operator itself). */
  text: string;
  /** The decoded value of number and string literals. */
  value?: number | string;
}

const NAME_RE = /[A-Za-z_][A-Za-z0-9_-]*/y;
const NUMBER_RE = /[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const NAME_CHAR_RE = /[A-Za-z0-9_]/;
const WHITESPACE_RE = /\s/;
// Longest first, so `<=` wins over `<`.
const OPERATORS = ["||", "&&", "==", "!=", "<=", ">=", "<", ">", "!", "-", "(", ")", "[", "]", ",", "."];
// Single characters that are usually a mistyped operator.
const TYPO_HINTS: Record<string, string> = { "=": "==", "&": "&&", "|": "||" };
const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "'": "'",
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/** Splits expression text into tokens on demand; `next()` returns `eof` forever at the end. */
export class Lexer {
  private readonly text: string;
  private pos = 0;

  constructor(text: string) {
    this.text = text;
  }

  next(): Token {
    const text = this.text;
    while (this.pos < text.length && WHITESPACE_RE.test(text[this.pos]!)) this.pos++;
    const start = this.pos;
    if (start >= text.length) return { kind: "eof", text: "", start, end: start };
    const ch = text[start]!;

    if (ch === "'") return this.singleQuoted(start);
    if (ch === '"') return this.doubleQuoted(start);
    if (ch >= "0" && ch <= "9") return this.number(start);

    NAME_RE.lastIndex = start;
    const name = NAME_RE.exec(text);
    if (name) return this.token("name", start, start + name[0].length);

    const op = OPERATORS.find((candidate) => text.startsWith(candidate, start));
    if (op) return this.token("op", start, start + op.length);

    const char = String.fromCodePoint(text.codePointAt(start)!);
    const hint = TYPO_HINTS[char];
    const message = `unexpected character ${JSON.stringify(char)}${hint ? `; did you mean '${hint}'?` : ""}`;
    throw new ExpressionError(message, start, char.length);
  }

  private token(kind: Token["kind"], start: number, end: number, value?: number | string): Token {
    this.pos = end;
    const token: Token = { kind, text: this.text.slice(start, end), start, end };
    if (value !== undefined) token.value = value;
    return token;
  }

  private number(start: number): Token {
    NUMBER_RE.lastIndex = start;
    let end = start + NUMBER_RE.exec(this.text)![0].length;
    // `1abc` is a typo, not the number 1 followed by a name.
    if (end < this.text.length && NAME_CHAR_RE.test(this.text[end]!)) {
      while (end < this.text.length && NAME_CHAR_RE.test(this.text[end]!)) end++;
      throw errorAt(`invalid number '${this.text.slice(start, end)}'`, { start, end });
    }
    const value = Number(this.text.slice(start, end));
    if (!Number.isFinite(value)) throw errorAt("number is too large", { start, end });
    return this.token("number", start, end, value);
  }

  /** `'it''s'`: a doubled quote is a quote, nothing else is special. */
  private singleQuoted(start: number): Token {
    const text = this.text;
    let value = "";
    let pos = start + 1;
    for (;;) {
      const close = text.indexOf("'", pos);
      if (close < 0) throw errorAt("unterminated string", { start, end: text.length });
      value += text.slice(pos, close);
      if (text[close + 1] !== "'") return this.token("string", start, close + 1, value);
      value += "'";
      pos = close + 2;
    }
  }

  /** `"a\"b\n"`: JSON-style backslash escapes, plus `\'`. */
  private doubleQuoted(start: number): Token {
    const text = this.text;
    let value = "";
    let pos = start + 1;
    while (pos < text.length) {
      const ch = text[pos]!;
      if (ch === '"') return this.token("string", start, pos + 1, value);
      if (ch !== "\\") {
        value += ch;
        pos++;
        continue;
      }
      const escaped = text[pos + 1];
      const hex = text.slice(pos + 2, pos + 6);
      if (escaped === "u" && /^[0-9a-fA-F]{4}$/.test(hex)) {
        value += String.fromCharCode(Number.parseInt(hex, 16));
        pos += 6;
      } else if (escaped !== undefined && Object.hasOwn(SIMPLE_ESCAPES, escaped)) {
        value += SIMPLE_ESCAPES[escaped];
        pos += 2;
      } else {
        const end = Math.min(pos + (escaped === "u" ? 6 : 2), text.length);
        throw errorAt(`invalid escape '${text.slice(pos, end)}' in string`, { start: pos, end });
      }
    }
    throw errorAt("unterminated string", { start, end: text.length });
  }
}
