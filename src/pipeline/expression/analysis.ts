import { childrenOf, type Expr } from "./ast.js";

/** A static path into the context: `tasks.fetch.outputs.rows` is root "tasks", path ["fetch", "outputs", "rows"]. */
export interface Reference {
  root: string;
  /** Stops at the first dynamic index: `a.b[params.i].c` gives ["b"]. */
  path: (string | number)[];
  /** Offsets into the expression text. */
  start: number;
  end: number;
}

export interface FunctionCall {
  name: string;
  argc: number;
  start: number;
  end: number;
}

/** Every reference to a context name (known or not), in source order. */
export function references(expr: Expr): Reference[] {
  const found: Reference[] = [];
  const visit = (node: Expr): void => {
    if (node.kind !== "member" && node.kind !== "index" && node.kind !== "name") {
      childrenOf(node).forEach(visit);
      return;
    }
    // Unwind the access chain `base.a[b].c` into its base and its links, innermost first.
    const links: Expr[] = [];
    let base: Expr = node;
    while (base.kind === "member" || base.kind === "index") {
      links.unshift(base);
      base = base.object;
    }
    if (base.kind === "name") {
      const reference: Reference = { root: base.name, path: [], start: base.start, end: base.end };
      for (const link of links) {
        const segment = staticSegment(link);
        if (segment === undefined) break;
        reference.path.push(segment);
        reference.end = link.end;
      }
      found.push(reference);
    } else {
      visit(base);
    }
    for (const link of links) if (link.kind === "index") visit(link.index);
  };
  visit(expr);
  return found;
}

/** Every function call, in source order (outer calls before the calls in their arguments). */
export function functionCalls(expr: Expr): FunctionCall[] {
  const found: FunctionCall[] = [];
  const visit = (node: Expr): void => {
    if (node.kind === "call")
      found.push({ name: node.name, argc: node.args.length, start: node.start, end: node.end });
    childrenOf(node).forEach(visit);
  };
  visit(expr);
  return found;
}

/** The property name or list index a link reads, when it is known without evaluating anything. */
function staticSegment(link: Expr): string | number | undefined {
  if (link.kind === "member") return link.property;
  if (link.kind !== "index" || link.index.kind !== "literal") return undefined;
  const key = link.index.value;
  if (typeof key === "string") return key;
  if (typeof key === "number" && Number.isInteger(key) && key >= 0) return key;
  return undefined;
}
