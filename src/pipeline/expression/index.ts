export { type FunctionCall, functionCalls, type Reference, references } from "./analysis.js";
export type {
  BinaryExpr,
  BinaryOperator,
  CallExpr,
  Expr,
  IndexExpr,
  ListExpr,
  LiteralExpr,
  MemberExpr,
  NameExpr,
  UnaryExpr,
  UnaryOperator,
} from "./ast.js";
export { childrenOf } from "./ast.js";
export { ExpressionError } from "./errors.js";
export { type EvalContext, evaluate, ROOT_NAMES } from "./evaluate.js";
export { FUNCTIONS, type FunctionInfo } from "./functions.js";
export { MAX_DEPTH, parseExpression } from "./parser.js";
export {
  type ExprPart,
  isExpressionString,
  parseTemplate,
  renderTemplate,
  type Template,
  type TemplatePart,
  type TextPart,
} from "./template.js";
export { isTruthy } from "./values.js";
