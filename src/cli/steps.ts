import { toJsonSchema } from "../config/json-schema.js";
import type { StepSpec } from "../pipeline/step-spec.js";
import { builtinSteps } from "../steps/index.js";
import { UsageError } from "./output.js";

interface ParamDoc {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  description: string;
}

/** Parameter docs straight from the step's zod schema (the same source as the JSON Schema). */
export function parameterDocs(step: StepSpec): ParamDoc[] {
  const schema = toJsonSchema(step.params) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, p]) => ({
    name,
    type: typeName(p),
    required: schema.required?.includes(name) ?? false,
    ...(p.default !== undefined ? { default: p.default } : {}),
    description: String(p.description ?? ""),
  }));
}

function typeName(p: Record<string, unknown>): string {
  if (Array.isArray(p.enum)) return p.enum.map(String).join("|");
  if (p.type === "array") {
    const items = (p.items ?? {}) as Record<string, unknown>;
    return `list of ${typeName(items)}`;
  }
  if (typeof p.type === "string") return p.format ? `${p.type} (${p.format})` : p.type;
  if (Array.isArray(p.anyOf)) return p.anyOf.map((x) => typeName(x as Record<string, unknown>)).join(" or ");
  if (Array.isArray(p.type)) return p.type.join(" or ");
  return "any";
}

export function stepsCommand(name: string | undefined, options: { json?: boolean }): number {
  const list = name ? builtinSteps.filter((s) => s.name === name) : builtinSteps;
  if (name && !list.length) throw new UsageError(`unknown step "${name}" (see: tickflow steps)`);
  if (options.json) {
    const out = list.map((s) => ({
      name: s.name,
      summary: s.summary,
      parameters: parameterDocs(s),
      outputs: s.outputs,
    }));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  const blocks = list.map((s) => {
    const lines = [`${s.name}`, `  ${s.summary}`, "  parameters:"];
    for (const p of parameterDocs(s)) {
      const flags = p.required
        ? "required"
        : p.default !== undefined
          ? `default ${JSON.stringify(p.default)}`
          : "optional";
      lines.push(`    ${p.name}: ${p.type} (${flags})`);
      if (p.description) lines.push(`        ${p.description}`);
    }
    lines.push("  outputs:");
    for (const [k, o] of Object.entries(s.outputs)) lines.push(`    ${k}: ${o.type}  ${o.description}`);
    return lines.join("\n");
  });
  process.stdout.write(`${blocks.join("\n\n")}\n`);
  return 0;
}
