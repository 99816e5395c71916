// Generates typed GraphQL documents for the dashboard from the public schema.
//
//   node scripts/codegen.mjs          write src/generated/graphql.ts
//   node scripts/codegen.mjs --check  fail when that file is not what would be written
//
// Inputs: ../schema.graphql (exported by `python -m gateway.schema_export`) and every
// operation in src/operations/*.graphql. Each operation is validated against the
// schema, so a query the API no longer answers fails the build, not the browser.
// Output: one result type and one variables type per operation, and the document
// itself as a string branded with both (see src/api.ts).
import { readFileSync, readdirSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildSchema,
  parse,
  validate,
  print,
  Kind,
  getNamedType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  typeFromAST,
  visit,
} from "graphql";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SCHEMA = resolve(root, "..", "schema.graphql");
const OPERATIONS = join(root, "src", "operations");
const OUTPUT = join(root, "src", "generated", "graphql.ts");

const SCALARS = {
  ID: "string",
  String: "string",
  Int: "number",
  Float: "number",
  Boolean: "boolean",
  Date: "string",
  DateTime: "string",
  JSON: "unknown",
  Time: "string",
};

function fail(message) {
  console.error(`codegen: ${message}`);
  process.exit(1);
}

const schema = buildSchema(readFileSync(SCHEMA, "utf8"));
const files = readdirSync(OPERATIONS)
  .filter((f) => f.endsWith(".graphql"))
  .sort();
const definitions = [];
for (const file of files) {
  const text = readFileSync(join(OPERATIONS, file), "utf8");
  let doc;
  try {
    doc = parse(text);
  } catch (err) {
    fail(`${file}: ${err.message}`);
  }
  definitions.push(...doc.definitions);
}
const document = { kind: Kind.DOCUMENT, definitions };
const errors = validate(schema, document);
if (errors.length) {
  fail(errors.map((e) => e.message).join("\n"));
}
const fragments = new Map(
  definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
);
const operations = definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);

const enums = new Set();
const inputs = new Set();

const indent = (text, by = "  ") => text.replace(/\n/g, `\n${by}`);
const quote = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));

function leafType(named) {
  if (isScalarType(named)) return SCALARS[named.name] ?? "unknown";
  if (isEnumType(named)) {
    enums.add(named);
    return named.name;
  }
  fail(`unexpected leaf type ${named.name}`);
}

function possibleObjects(type) {
  return isAbstractType(type) ? schema.getPossibleTypes(type) : [type];
}

function appliesTo(condition, object) {
  if (!condition) return true;
  const t = schema.getType(condition.name.value);
  return t === object || (isAbstractType(t) && schema.isSubType(t, object));
}

// Response key -> list of field nodes selected on `object` (fragments flattened).
function collect(selectionSet, object, into = new Map()) {
  for (const sel of selectionSet.selections) {
    if (sel.kind === Kind.FIELD) {
      const key = sel.alias?.value ?? sel.name.value;
      if (!into.has(key)) into.set(key, []);
      into.get(key).push(sel);
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      if (appliesTo(sel.typeCondition, object)) collect(sel.selectionSet, object, into);
    } else if (sel.kind === Kind.FRAGMENT_SPREAD) {
      const frag = fragments.get(sel.name.value);
      if (appliesTo(frag.typeCondition, object)) collect(frag.selectionSet, object, into);
    }
  }
  return into;
}

function mergedSelection(nodes) {
  const selections = nodes.flatMap((n) => n.selectionSet?.selections ?? []);
  return { kind: Kind.SELECTION_SET, selections };
}

function outputType(type, nodes) {
  if (isNonNullType(type)) return bare(type.ofType, nodes);
  return `${bare(type, nodes)} | null`;
}

function bare(type, nodes) {
  if (isListType(type)) {
    const inner = outputType(type.ofType, nodes);
    return inner.includes("|") || inner.includes("{") ? `Array<${inner}>` : `${inner}[]`;
  }
  if (isNonNullType(type)) return bare(type.ofType, nodes);
  const named = getNamedType(type);
  if (isScalarType(named) || isEnumType(named)) return leafType(named);
  return selectionType(named, mergedSelection(nodes));
}

const TYPENAME = "\u0000typename";

// The shape of `object`'s selection; `__typename` is left as a placeholder so that
// possible types with the same fields can share one member of a union.
function objectShape(object, selectionSet) {
  const fields = collect(selectionSet, object);
  const lines = [];
  for (const [key, nodes] of fields) {
    const name = nodes[0].name.value;
    if (name === "__typename") {
      lines.push(`${quote(key)}: ${TYPENAME};`);
      continue;
    }
    const field = object.getFields()[name];
    lines.push(`${quote(key)}: ${outputType(field.type, nodes)};`);
  }
  return lines.length ? `{\n  ${indent(lines.join("\n"))}\n}` : "{}";
}

function selectionType(type, selectionSet) {
  const byShape = new Map();
  for (const object of possibleObjects(type)) {
    const shape = objectShape(object, selectionSet);
    if (!byShape.has(shape)) byShape.set(shape, []);
    byShape.get(shape).push(JSON.stringify(object.name));
  }
  const shapes = [...byShape].map(([shape, names]) =>
    shape.replaceAll(TYPENAME, names.join(" | ")),
  );
  return shapes.length === 1 ? shapes[0] : `(\n  | ${shapes.map((s) => indent(s)).join("\n  | ")}\n)`;
}

function inputType(type) {
  if (isNonNullType(type)) return inputBare(type.ofType);
  return `${inputBare(type)} | null`;
}

function inputBare(type) {
  if (isListType(type)) {
    const inner = inputType(type.ofType);
    return inner.includes("|") ? `Array<${inner}>` : `${inner}[]`;
  }
  if (isInputObjectType(type)) {
    if (!inputs.has(type)) {
      inputs.add(type);
      for (const f of Object.values(type.getFields())) inputType(f.type);
    }
    return type.name;
  }
  return leafType(type);
}

function optional(type, hasDefault) {
  return !isNonNullType(type) || hasDefault;
}

function variablesType(op) {
  const lines = (op.variableDefinitions ?? []).map((v) => {
    const type = typeFromAST(schema, v.type);
    const mark = optional(type, Boolean(v.defaultValue)) ? "?" : "";
    return `${v.variable.name.value}${mark}: ${inputType(type)};`;
  });
  return lines.length ? `{\n  ${indent(lines.join("\n"))}\n}` : "Record<string, never>";
}

function usedFragments(node, seen = new Set()) {
  visit(node, {
    FragmentSpread(spread) {
      const name = spread.name.value;
      if (!seen.has(name)) {
        seen.add(name);
        usedFragments(fragments.get(name), seen);
      }
    },
  });
  return seen;
}

const SUFFIX = { query: "Query", mutation: "Mutation", subscription: "Subscription" };
const roots = {
  query: schema.getQueryType(),
  mutation: schema.getMutationType(),
  subscription: schema.getSubscriptionType(),
};
const blocks = [];
for (const op of operations) {
  if (!op.name) fail("every operation needs a name");
  const name = op.name.value + SUFFIX[op.operation];
  const result = selectionType(roots[op.operation], op.selectionSet);
  const vars = variablesType(op);
  const source = [op, ...[...usedFragments(op)].sort().map((f) => fragments.get(f))]
    .map((d) => print(d))
    .join("\n\n");
  blocks.push(
    `export type ${name} = ${result};\n\n` +
      `export type ${name}Variables = ${vars};\n\n` +
      `export const ${op.name.value}Document = ${JSON.stringify(source)} as TypedDocument<\n` +
      `  ${name},\n  ${name}Variables\n>;`,
  );
}

const enumBlocks = [...enums]
  .sort((a, b) => a.name.localeCompare(b.name))
  .map((e) => `export type ${e.name} = ${e.getValues().map((v) => JSON.stringify(v.name)).join(" | ")};`);
const inputBlocks = [...inputs]
  .sort((a, b) => a.name.localeCompare(b.name))
  .map((t) => {
    const lines = Object.values(t.getFields()).map((f) => {
      const mark = optional(f.type, f.defaultValue !== undefined) ? "?" : "";
      return `${f.name}${mark}: ${inputType(f.type)};`;
    });
    return `export interface ${t.name} {\n  ${indent(lines.join("\n"))}\n}`;
  });

const output = [
  "// Generated by scripts/codegen.mjs from ../schema.graphql and src/operations/*.graphql.",
  "// Do not edit: run `npm run codegen`.",
  "",
  "/** A GraphQL document, typed with its result and its variables. */",
  "export type TypedDocument<TResult, TVariables> = string & {",
  "  readonly __result?: TResult;",
  "  readonly __variables?: TVariables;",
  "};",
  "",
  ...[...enumBlocks, ...inputBlocks, ...blocks].flatMap((b) => [b, ""]),
].join("\n");

if (process.argv.includes("--check")) {
  const current = existsSync(OUTPUT) ? readFileSync(OUTPUT, "utf8") : "";
  if (current !== output) {
    fail("src/generated/graphql.ts is not current: run `npm run codegen` and commit it");
  }
  console.log("codegen: src/generated/graphql.ts is current");
} else {
  mkdirSync(dirname(OUTPUT), { recursive: true });
  writeFileSync(OUTPUT, output);
  console.log(`codegen: wrote src/generated/graphql.ts (${operations.length} operations)`);
}
