import { randomUUID } from "node:crypto";
import * as ts from "typescript";
import { cellSource, hasTag, Notebook, NotebookCell, sourceLines } from "./notebook";

export type ParamValue = string | number | boolean | null | ParamValue[] | { [key: string]: ParamValue };
export type Params = Record<string, ParamValue>;

export const PARAMETERS_TAG = "parameters";
export const INJECTED_TAG = "injected-parameters";

/** A top-level variable of the parameters cell. */
export interface ParameterDeclaration {
  name: string;
  keyword: "const" | "let" | "var";
  /** The declared type, or one inferred from a plain literal default; absent when neither is known. */
  typeText?: string;
  /** The default when it is a JSON-like literal (`"data/models/05"`, `[3, 2, 1]`); absent otherwise. */
  defaultValue?: ParamValue;
}

/** Reads the top-level `const`/`let`/`var name = ...` declarations of a parameters cell. */
export function parseParameters(source: string): ParameterDeclaration[] {
  const file = ts.createSourceFile("parameters.ts", source, ts.ScriptTarget.Latest, true);
  const params: ParameterDeclaration[] = [];
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const flags = statement.declarationList.flags;
    const keyword = flags & ts.NodeFlags.Const ? "const" : flags & ts.NodeFlags.Let ? "let" : "var";
    for (const decl of statement.declarationList.declarations) {
      if (!ts.isIdentifier(decl.name)) continue;
      const typeText = decl.type ? decl.type.getText(file) : decl.initializer && literalType(decl.initializer);
      const defaultValue = decl.initializer && literalValue(decl.initializer);
      params.push({ name: decl.name.text, keyword, ...(typeText ? { typeText } : {}), ...(defaultValue !== undefined ? { defaultValue } : {}) });
    }
  }
  return params;
}

/**
 * The widened type of a JSON-like literal (`0.2` -> `number`, `[1, 2]` -> `number[]`), so that an
 * override is checked against the kind of value the default is, not against the default itself.
 */
function literalType(expr: ts.Expression): string | undefined {
  return widenedType(literalValue(expr));
}

function widenedType(value: ParamValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object") return typeof value;
  if (Array.isArray(value)) {
    const elementTypes = value.map(widenedType);
    if (elementTypes.length === 0 || elementTypes.some((t) => t === undefined)) return undefined;
    const distinct = [...new Set(elementTypes)];
    return distinct.length === 1 ? `${distinct[0]}[]` : `(${distinct.join(" | ")})[]`;
  }
  const members: string[] = [];
  for (const [key, member] of Object.entries(value)) {
    const type = widenedType(member);
    if (!type) return undefined;
    members.push(`${/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key)}: ${type}`);
  }
  return `{ ${members.join("; ")} }`;
}

/** The value of a JSON-like literal, or undefined for anything computed (`as const` included). */
function literalValue(expr: ts.Expression): ParamValue | undefined {
  if (ts.isParenthesizedExpression(expr)) return literalValue(expr.expression);
  if (ts.isNumericLiteral(expr)) return Number(expr.text);
  if (ts.isPrefixUnaryExpression(expr) && ts.isNumericLiteral(expr.operand)) {
    if (expr.operator === ts.SyntaxKind.MinusToken) return -Number(expr.operand.text);
    if (expr.operator === ts.SyntaxKind.PlusToken) return Number(expr.operand.text);
    return undefined;
  }
  if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr)) return expr.text;
  if (expr.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (expr.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (expr.kind === ts.SyntaxKind.NullKeyword) return null;
  if (ts.isArrayLiteralExpression(expr)) {
    const values = expr.elements.map(literalValue);
    return values.some((v) => v === undefined) ? undefined : (values as ParamValue[]);
  }
  if (ts.isObjectLiteralExpression(expr)) {
    const out: Record<string, ParamValue> = {};
    for (const prop of expr.properties) {
      if (!ts.isPropertyAssignment(prop) || !(ts.isIdentifier(prop.name) || ts.isStringLiteral(prop.name))) return undefined;
      const value = literalValue(prop.initializer);
      if (value === undefined) return undefined;
      out[prop.name.text] = value;
    }
    return out;
  }
  return undefined;
}

/** The declarations of a notebook's cell tagged `parameters` (none when it has no such cell). */
export function declaredParameters(nb: Notebook): ParameterDeclaration[] {
  const cell = nb.cells.find((c) => c.cell_type === "code" && hasTag(c, PARAMETERS_TAG));
  return cell ? parseParameters(cellSource(cell)) : [];
}

/** The TypeScript source that redeclares each override with the default's keyword and type. */
export function injectedSource(declared: ParameterDeclaration[], params: Params, notebookName: string): string {
  const byName = new Map(declared.map((d) => [d.name, d]));
  const lines = ["// Injected parameters (the defaults are in the cell above)"];
  for (const [name, value] of Object.entries(params)) {
    const decl = byName.get(name);
    if (!decl) throw new UnknownParameterError(name, declared, notebookName);
    if (value === undefined) throw new Error(`Parameter "${name}" has no value`);
    const annotation = decl.typeText ? `: ${decl.typeText}` : "";
    lines.push(`${decl.keyword} ${name}${annotation} = ${JSON.stringify(value)};`);
  }
  return lines.join("\n");
}

export class UnknownParameterError extends Error {
  constructor(name: string, declared: ParameterDeclaration[], notebookName: string) {
    const known = declared.length ? declared.map((d) => d.name).join(", ") : "(none)";
    super(`Unknown parameter "${name}" for ${notebookName}; its parameters cell declares: ${known}`);
    this.name = "UnknownParameterError";
  }
}

/**
 * Returns a copy of the notebook with outputs cleared and, when there are overrides, a cell tagged
 * `injected-parameters` right after the cell tagged `parameters`.
 */
export function injectParameters(nb: Notebook, params: Params, notebookName: string): Notebook {
  const cells: NotebookCell[] = nb.cells
    .filter((cell) => !hasTag(cell, INJECTED_TAG))
    .map((cell) => (cell.cell_type === "code" ? { ...cell, outputs: [], execution_count: null } : { ...cell }));
  const out: Notebook = { ...nb, cells };
  if (Object.keys(params).length === 0) return out;

  const at = cells.findIndex((cell) => cell.cell_type === "code" && hasTag(cell, PARAMETERS_TAG));
  if (at < 0) {
    throw new Error(`${notebookName} has no code cell tagged "${PARAMETERS_TAG}", so it takes no parameters`);
  }
  const source = injectedSource(parseParameters(cellSource(cells[at])), params, notebookName);
  cells.splice(at + 1, 0, {
    // nbformat 4.5 requires every cell to have an id.
    ...(nb.nbformat_minor >= 5 ? { id: randomUUID().slice(0, 8) } : {}),
    cell_type: "code",
    execution_count: null,
    metadata: { tags: [INJECTED_TAG] },
    outputs: [],
    source: sourceLines(source),
  });
  return out;
}
