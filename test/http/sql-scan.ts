/**
 * A static scan of TypeScript sources for SQL built from strings, with the
 * TypeScript parser (so template literals, comments and strings are told
 * apart exactly). Kysely's `sql` tag is parameterized (each `${value}` becomes
 * `$n`), so it is fine; what is reported:
 *
 * - `sql.raw(x)`, `sql.lit(x)`, `CompiledQuery.raw(x)`: text or literals pasted
 *   into SQL; fine only with a string literal argument;
 * - `sql.ref(x)`, `sql.id(x)`, `sql.table(x)`, `*.dynamic.ref(x)` /
 *   `.dynamic.table(x)`: identifiers from a variable (Kysely quotes them, but a
 *   caller who controls them can name any table or column); fine with a literal;
 * - `.query(...)`, `.exec(...)`, `.unsafe(...)` whose text is interpolated
 *   (`\`...${x}\``) or concatenated, and `.query(...)` whose text is not a literal;
 * - untagged template literals and `+` concatenations whose text reads as SQL.
 */
import ts from "typescript";

export interface SqlFinding {
  file: string;
  line: number;
  /** The source line, trimmed. */
  text: string;
  problem: string;
}

const SQL_TEXT = /^\s*(?:select\b[\s\S]*\bfrom\b|insert\s+into\b|update\b[\s\S]*\bset\b|delete\s+from\b|create\s+(?:unique\s+)?(?:table|index)\b|drop\s+(?:table|index|database)\b|alter\s+table\b|truncate\b|grant\b)/i;
const IDENTIFIER_CALLS = new Set(["sql.ref", "sql.id", "sql.table"]);
const TEXT_CALLS = new Set(["sql.raw", "sql.lit", "CompiledQuery.raw"]);
const QUERY_METHODS = new Set(["query", "exec", "unsafe"]);

function isLiteral(node: ts.Node | undefined): boolean {
  return node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node));
}

function literalText(node: ts.Node): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.head.text + node.templateSpans.map((s) => `\${} ${s.literal.text}`).join("");
  return undefined;
}

function calleeName(expr: ts.Expression): string | undefined {
  if (ts.isIdentifier(expr)) return expr.text;
  if (ts.isPropertyAccessExpression(expr)) {
    const left = calleeName(expr.expression);
    return left === undefined ? expr.name.text : `${left}.${expr.name.text}`;
  }
  if (ts.isCallExpression(expr)) return calleeName(expr.expression);
  if (ts.isElementAccessExpression(expr) || ts.isParenthesizedExpression(expr) || ts.isNonNullExpression(expr)) return calleeName(expr.expression);
  if (expr.kind === ts.SyntaxKind.ThisKeyword) return "this";
  return undefined;
}

/** Findings in one source text. */
export function scanSql(file: string, source: string): SqlFinding[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lines = source.split("\n");
  const out: SqlFinding[] = [];
  const report = (node: ts.Node, problem: string) => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    out.push({ file, line, text: (lines[line - 1] ?? "").trim(), problem });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const name = calleeName(node.expression) ?? "";
      const method = ts.isPropertyAccessExpression(node.expression) ? node.expression.name.text : "";
      const arg = node.arguments[0];
      const short = name.split(".").slice(-2).join(".");
      if (TEXT_CALLS.has(short) && !isLiteral(arg)) report(node, `${short}() with a non-literal argument pastes text into SQL`);
      else if ((IDENTIFIER_CALLS.has(short) || /\.dynamic\.(?:ref|table)$/.test(name)) && !isLiteral(arg)) {
        report(node, `${short}() with a non-literal identifier lets the caller name any table or column`);
      } else if (QUERY_METHODS.has(method) && arg !== undefined && !isLiteral(arg)) {
        if (ts.isTemplateExpression(arg)) report(node, `.${method}() with an interpolated template: values must be parameters ($1, ...)`);
        else if (ts.isBinaryExpression(arg) && arg.operatorToken.kind === ts.SyntaxKind.PlusToken) report(node, `.${method}() with concatenated text: values must be parameters ($1, ...)`);
        // RegExp#exec takes a variable as a matter of course; only `.query` must be given literal text.
        else if (method === "query" && !ts.isObjectLiteralExpression(arg)) report(node, `.${method}() with query text that is not a literal`);
      }
    }
    if (ts.isTemplateExpression(node) && !ts.isTaggedTemplateExpression(node.parent)) {
      const text = literalText(node);
      if (text !== undefined && SQL_TEXT.test(text)) report(node, "SQL text built by template interpolation (use Kysely's sql`...` tag, whose values are parameters)");
    }
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
      const sides = [node.left, node.right].map(literalText).filter((t): t is string => t !== undefined);
      if (sides.some((t) => SQL_TEXT.test(t))) report(node, "SQL text built by string concatenation");
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}
