/**
 * Text PostgreSQL can store. Its `text` holds no NUL character and its `jsonb` no `\u0000` escape
 * (both refuse the whole statement): a step's error or log line quoting a binary body must not
 * make every later flush of its run fail, so those characters become U+FFFD.
 */

/** `s` with each NUL replaced by U+FFFD. */
export function pgText(s: string): string;
export function pgText(s: string | null): string | null;
export function pgText(s: string | null): string | null {
  return s === null || !s.includes("\0") ? s : s.replaceAll("\0", "\uFFFD");
}

/** JSON text whose `\u0000` escapes (not an escaped backslash followed by `u0000`) become `\ufffd`. */
export function pgJsonText(json: string | null): string | null {
  if (json === null || !json.includes("\\u0000")) return json;
  return json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, "$1\\ufffd");
}
