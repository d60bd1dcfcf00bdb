import { type BinaryOperator, childrenOf, type Expr, type UnaryOperator } from "./ast.js";
import { type ExpressionError, errorAt } from "./errors.js";
import { Lexer, type Token } from "./lexer.js";

/**
 * Deepest nesting (parentheses, operands, lists, member chains) accepted. The parser and the
 * evaluator recurse, so this keeps hostile or generated input from overflowing the stack.
 */
export const MAX_DEPTH = 256;

// Higher binds tighter; unary operators and postfix access bind tighter than all of these.
const PRECEDENCE = new Map<string, number>([
  ["||", 1],
  ["&&", 2],
  ["==", 3],
  ["!=", 3],
  ["<", 4],
  ["<=", 4],
  [">", 4],
  [">=", 4],
]);

const KEYWORDS = new Map<string, boolean | null>([
  ["true", true],
  ["false", false],
  ["null", null],
]);

/** Parses the text between `${{` and `}}`. Throws ExpressionError with offsets into `text`. */
export function parseExpression(text: string): Expr {
  return new Parser(text).parse();
}

class Parser {
  private readonly lexer: Lexer;
  private token: Token;
  /** Current recursion depth of parseUnary, which every nested sub-expression goes through. */
  private depth = 0;
  /** Height of each node built so far, so deep left-leaning chains (`a || a || ...`) are caught too. */
  private readonly heights = new WeakMap<Expr, number>();

  constructor(text: string) {
    this.lexer = new Lexer(text);
    this.token = this.lexer.next();
  }

  parse(): Expr {
    const expr = this.parseBinary(1);
    if (this.token.kind !== "eof") throw this.unexpected();
    return expr;
  }

  private advance(): Token {
    const current = this.token;
    this.token = this.lexer.next();
    return current;
  }

  private isOp(text: string): boolean {
    return this.token.kind === "op" && this.token.text === text;
  }

  private expectOp(text: string, context: string): Token {
    if (!this.isOp(text)) throw this.unexpected(`expected '${text}' ${context}`);
    return this.advance();
  }

  private unexpected(expected?: string): ExpressionError {
    const token = this.token;
    const found = token.kind === "eof" ? "end of expression" : `'${abbreviate(token.text)}'`;
    return errorAt(expected ? `${expected}, found ${found}` : `unexpected ${found}`, token);
  }

  /** Registers a new node, rejecting it when the tree gets too deep. */
  private node<T extends Expr>(expr: T, children: readonly Expr[]): T {
    let height = 1;
    for (const child of children) height = Math.max(height, (this.heights.get(child) ?? 1) + 1);
    if (height > MAX_DEPTH) throw tooDeep(expr);
    this.heights.set(expr, height);
    return expr;
  }

  /** Precedence climbing: operands bind to operators of at least `minPrecedence`; all are left-associative. */
  private parseBinary(minPrecedence: number): Expr {
    let left = this.parseUnary();
    for (;;) {
      const precedence = this.token.kind === "op" ? PRECEDENCE.get(this.token.text) : undefined;
      if (precedence === undefined || precedence < minPrecedence) return left;
      const op = this.advance().text as BinaryOperator;
      const right = this.parseBinary(precedence + 1);
      left = this.node({ kind: "binary", op, left, right, start: left.start, end: right.end }, [left, right]);
    }
  }

  private parseUnary(): Expr {
    if (++this.depth > MAX_DEPTH) throw tooDeep(this.token);
    let expr: Expr;
    if (this.isOp("!") || this.isOp("-")) {
      const opToken = this.advance();
      const operand = this.parseUnary();
      const span = { start: opToken.start, end: operand.end };
      // Fold `-1` into a literal so static checks see a plain number.
      if (opToken.text === "-" && operand.kind === "literal" && typeof operand.value === "number") {
        expr = this.node({ kind: "literal", value: -operand.value, ...span }, []);
      } else {
        const op = opToken.text as UnaryOperator;
        expr = this.node({ kind: "unary", op, operand, ...span }, [operand]);
      }
    } else {
      expr = this.parsePostfix();
    }
    this.depth--;
    return expr;
  }

  private parsePostfix(): Expr {
    let expr = this.parsePrimary();
    for (;;) {
      if (this.isOp(".")) {
        this.advance();
        if (this.token.kind !== "name") throw this.unexpected("expected a property name after '.'");
        const property = this.advance();
        const span = { start: expr.start, end: property.end };
        expr = this.node({ kind: "member", object: expr, property: property.text, ...span }, [expr]);
      } else if (this.isOp("[")) {
        this.advance();
        const index = this.parseBinary(1);
        const close = this.expectOp("]", "to close '['");
        expr = this.node({ kind: "index", object: expr, index, start: expr.start, end: close.end }, [
          expr,
          index,
        ]);
      } else if (this.isOp("(")) {
        throw errorAt("only functions can be called, as name(...)", this.token);
      } else {
        return expr;
      }
    }
  }

  private parsePrimary(): Expr {
    const token = this.token;
    if (token.kind === "number" || token.kind === "string") {
      this.advance();
      return this.node({ kind: "literal", value: token.value!, start: token.start, end: token.end }, []);
    }
    if (token.kind === "name") {
      this.advance();
      const keyword = KEYWORDS.get(token.text);
      if (keyword !== undefined) return this.node({ kind: "literal", value: keyword, ...span(token) }, []);
      if (this.isOp("(")) return this.parseCall(token);
      return this.node({ kind: "name", name: token.text, ...span(token) }, []);
    }
    if (this.isOp("(")) {
      this.advance();
      const inner = this.parseBinary(1);
      const close = this.expectOp(")", "to close '('");
      // Widen the span to the parentheses, so enclosing nodes start and end where the source does.
      return this.node({ ...inner, start: token.start, end: close.end }, childrenOf(inner));
    }
    if (this.isOp("[")) {
      this.advance();
      const items = this.parseList("]", "to close the list");
      return this.node({ kind: "list", items, start: token.start, end: this.advance().end }, items);
    }
    throw this.unexpected(token.kind === "eof" ? "expected an expression" : undefined);
  }

  private parseCall(name: Token): Expr {
    this.advance(); // (
    const args = this.parseList(")", "to close the argument list");
    const end = this.advance().end;
    return this.node({ kind: "call", name: name.text, args, start: name.start, end }, args);
  }

  /** Comma-separated expressions up to (not including) the closing token. */
  private parseList(close: string, context: string): Expr[] {
    const items: Expr[] = [];
    if (this.isOp(close)) return items;
    for (;;) {
      items.push(this.parseBinary(1));
      if (this.isOp(close)) return items;
      this.expectOp(",", `or '${close}' ${context}`);
    }
  }
}

function span(token: Token): { start: number; end: number } {
  return { start: token.start, end: token.end };
}

function tooDeep(at: { start: number; end: number }): ExpressionError {
  return errorAt(`expression is nested too deeply (more than ${MAX_DEPTH} levels)`, at);
}

function abbreviate(text: string): string {
  return text.length > 30 ? `${text.slice(0, 27)}...` : text;
}
