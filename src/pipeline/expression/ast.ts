import type { Span } from "./errors.js";

export type BinaryOperator = "||" | "&&" | "==" | "!=" | "<" | "<=" | ">" | ">=";
export type UnaryOperator = "!" | "-";

/** `1`, `'abc'`, `true`, `null`. A minus sign before a number literal is folded into it. */
export interface LiteralExpr extends Span {
  kind: "literal";
  value: string | number | boolean | null;
}

/** `[a, 'b', 3]` */
export interface ListExpr extends Span {
  kind: "list";
  items: Expr[];
}

/** A bare name: the root of a reference (`params`, `tasks`, ...). */
export interface NameExpr extends Span {
  kind: "name";
  name: string;
}

/** `object.property` */
export interface MemberExpr extends Span {
  kind: "member";
  object: Expr;
  property: string;
}

/** `object[index]` */
export interface IndexExpr extends Span {
  kind: "index";
  object: Expr;
  index: Expr;
}

/** `name(args...)`; only bare names can be called. */
export interface CallExpr extends Span {
  kind: "call";
  name: string;
  args: Expr[];
}

export interface UnaryExpr extends Span {
  kind: "unary";
  op: UnaryOperator;
  operand: Expr;
}

export interface BinaryExpr extends Span {
  kind: "binary";
  op: BinaryOperator;
  left: Expr;
  right: Expr;
}

/**
 * The expression AST. `start`/`end` are offsets into the expression text; a parenthesized
 * expression's span includes its parentheses.
 */
export type Expr =
  | LiteralExpr
  | ListExpr
  | NameExpr
  | MemberExpr
  | IndexExpr
  | CallExpr
  | UnaryExpr
  | BinaryExpr;

/** The direct sub-expressions of a node, in source order. */
export function childrenOf(expr: Expr): Expr[] {
  switch (expr.kind) {
    case "literal":
    case "name":
      return [];
    case "list":
      return expr.items;
    case "member":
      return [expr.object];
    case "index":
      return [expr.object, expr.index];
    case "call":
      return expr.args;
    case "unary":
      return [expr.operand];
    case "binary":
      return [expr.left, expr.right];
  }
}
