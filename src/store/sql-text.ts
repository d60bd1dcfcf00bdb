/**
 * User SQL as text, the same for both backends: where its statements end (semicolons outside
 * strings, quoted identifiers, dollar quotes and comments), and its `$name` placeholders, with the
 * rules both backends apply to them (named only, matched to `params` by name, case-insensitively
 * when no exact match).
 */

/** A value bound to a `$name` placeholder. */
export type SqlParam = string | number | boolean | null;

/** A stretch of SQL text: `code` is one character or a whole quoted string / identifier. */
interface Piece {
  kind: "comment" | "space" | "semicolon" | "code" | "placeholder";
  start: number;
  end: number;
}

/** The pieces of `sql`, in order, covering it whole. */
function* pieces(sql: string): Generator<Piece> {
  let i = 0;
  while (i < sql.length) {
    const start = i;
    const c = sql[i]!;
    if (c === "-" && sql[i + 1] === "-") {
      const newline = sql.indexOf("\n", i);
      i = newline < 0 ? sql.length : newline + 1;
      yield { kind: "comment", start, end: i };
    } else if (c === "/" && sql[i + 1] === "*") {
      const close = sql.indexOf("*/", i + 2);
      i = close < 0 ? sql.length : close + 2;
      yield { kind: "comment", start, end: i };
    } else if (c === ";") {
      i++;
      yield { kind: "semicolon", start, end: i };
    } else if (/\s/.test(c)) {
      i++;
      yield { kind: "space", start, end: i };
    } else {
      const placeholder = placeholderEnd(sql, i);
      i = placeholder ?? endOfToken(sql, i);
      yield { kind: placeholder === undefined ? "code" : "placeholder", start, end: i };
    }
  }
}

/**
 * The statements of `sql`, each without its trailing semicolons and comments; comments before a
 * statement stay with it. Statements of nothing but comments are left out.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0; // where the current statement's text begins
  let codeEnd = -1; // just past its last piece of code; -1: none yet
  for (const piece of pieces(sql)) {
    if (piece.kind === "semicolon") {
      if (codeEnd >= 0) statements.push(sql.slice(start, codeEnd).trim());
      start = piece.end;
      codeEnd = -1;
    } else if (piece.kind === "code" || piece.kind === "placeholder") {
      codeEnd = piece.end;
    }
  }
  if (codeEnd >= 0) statements.push(sql.slice(start, codeEnd).trim());
  return statements;
}

/**
 * One statement without its trailing semicolons and comments, to nest inside another statement
 * such as `COPY ( ... ) TO`. String literals ('...', E'...', $$...$$), quoted identifiers and
 * comments are skipped while looking for semicolons.
 * @throws Error when `sql` holds more than one statement.
 */
export function singleStatement(sql: string): string {
  const statements = splitStatements(sql);
  if (statements.length > 1) throw new Error("expected a single SQL statement, found several");
  return statements[0] ?? "";
}

/**
 * The key of `params` a placeholder `$name` takes its value from: `name` itself, else the first
 * key equal to it ignoring case.
 * @throws Error naming the placeholder (and the params given) when none matches, or when it is
 *   positional (`?`, `$1`).
 */
export function paramKey(params: Readonly<Record<string, SqlParam>>, name: string): string {
  if (/^\d*$/.test(name)) {
    throw new Error(
      `positional parameters (? or $${name}) are not supported: use named ones such as $symbol`,
    );
  }
  const key = Object.hasOwn(params, name)
    ? name
    : Object.keys(params).find((k) => k.toLowerCase() === name.toLowerCase());
  if (key === undefined) {
    const known = Object.keys(params);
    throw new Error(
      `$${name} has no value: add it to params${known.length > 0 ? ` (given: ${known.join(", ")})` : ""}`,
    );
  }
  return key;
}

/**
 * `statement` with each `$name` replaced by what `replace` returns for its key of `params`
 * (see `paramKey`), for a backend that numbers its placeholders (`$1`, `$2`, ...).
 * @throws Error from `paramKey`.
 */
export function replacePlaceholders(
  statement: string,
  params: Readonly<Record<string, SqlParam>>,
  replace: (key: string) => string,
): string {
  let out = "";
  for (const piece of pieces(statement)) {
    const text = statement.slice(piece.start, piece.end);
    out += piece.kind === "placeholder" ? replace(paramKey(params, text.slice(1))) : text;
  }
  return out;
}

/**
 * Index just past a placeholder (`$name` or `$1`) starting at `start`, or undefined: a `$` inside
 * an identifier (`a$b`) or opening a dollar quote (`$tag$`) is none.
 */
function placeholderEnd(sql: string, start: number): number | undefined {
  if (sql[start] !== "$" || /[A-Za-z0-9_$]/.test(sql[start - 1] ?? "")) return undefined;
  const name = /^\$(?:[A-Za-z_][A-Za-z0-9_]*|\d+)/.exec(sql.slice(start, start + 256))?.[0];
  if (name === undefined || sql[start + name.length] === "$") return undefined;
  return start + name.length;
}

/** Index just past the code token starting at `start`: a whole quoted string or identifier, else one character. */
function endOfToken(sql: string, start: number): number {
  const c = sql[start]!;
  if (c === "'" || c === '"') {
    const escapes = c === "'" && /[eE]/.test(sql[start - 1] ?? "") && !/\w/.test(sql[start - 2] ?? "");
    let i = start + 1;
    while (i < sql.length) {
      if (escapes && sql[i] === "\\") i += 2;
      else if (sql[i] === c && sql[i + 1] === c) i += 2;
      else if (sql[i] === c) return i + 1;
      else i++;
    }
    return sql.length;
  }
  if (c === "$") {
    const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(start, start + 64))?.[0];
    if (tag !== undefined) {
      const close = sql.indexOf(tag, start + tag.length);
      return close < 0 ? sql.length : close + tag.length;
    }
  }
  return start + 1;
}
