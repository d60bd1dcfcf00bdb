import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateSchemas } from "../src/cli/schemas.js";
import { REPO, tickflow } from "./helpers/cli.js";

/** Formats yaml-language-server 1.2x checks; others would be silently ignored in editors. */
const EDITOR_FORMATS = new Set(["date", "time", "date-time", "email", "ip", "uri"]);

function walk(
  node: unknown,
  visit: (schema: Record<string, unknown>, path: string) => void,
  path = "#",
): void {
  if (Array.isArray(node)) {
    for (const [i, n] of node.entries()) walk(n, visit, `${path}/${i}`);
  } else if (node && typeof node === "object") {
    visit(node as Record<string, unknown>, path);
    for (const [k, v] of Object.entries(node)) walk(v, visit, `${path}/${k}`);
  }
}

describe("schemas/", () => {
  const generated = generateSchemas();

  it("holds exactly what the code generates (run `npm run schemas` after changing a step)", async () => {
    for (const [name, text] of generated) {
      const committed = await readFile(join(REPO, "schemas", name), "utf8");
      expect(committed, `schemas/${name} is stale: run npm run schemas`).toBe(text);
    }
    const r = await tickflow(["schemas", "--check"]);
    expect(r.code, r.stderr).toBe(0);
  });

  for (const [name, text] of generated) {
    describe(name, () => {
      const schema = JSON.parse(text) as Record<string, unknown>;

      it("declares draft 2020-12, an $id, and keeps its definitions in local $defs", () => {
        expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
        expect(schema.$id).toMatch(/^https:\/\/.+\.schema\.json$/);
        const defs = (schema.$defs ?? {}) as Record<string, unknown>;
        walk(schema, (s, path) => {
          if (typeof s.$ref === "string") {
            expect(s.$ref, path).toMatch(/^#\/\$defs\//);
            expect(defs[s.$ref.slice("#/$defs/".length)], `${path} -> ${s.$ref}`).toBeDefined();
          }
          expect(s.definitions, path).toBeUndefined();
        });
      });

      it("describes every property (editors show it on hover)", () => {
        const missing: string[] = [];
        walk(schema, (s, path) => {
          if (/\/if(\/|$)/.test(path)) return; // a condition (which step type?), not a documented value
          const props = s.properties as Record<string, Record<string, unknown>> | undefined;
          for (const [k, p] of Object.entries(props ?? {})) {
            const described = typeof p.description === "string" && p.description.length > 3;
            // A $ref alone is described by its target.
            const target =
              typeof p.$ref === "string"
                ? (schema.$defs as Record<string, Record<string, unknown>>)[p.$ref.slice(8)]
                : undefined;
            if (!described && !(target && typeof target.description === "string"))
              missing.push(`${path}/properties/${k}`);
          }
        });
        expect(missing).toEqual([]);
      });

      it("uses only the formats editors check", () => {
        walk(schema, (s, path) => {
          if (typeof s.format === "string")
            expect(EDITOR_FORMATS.has(s.format), `${path}: ${s.format}`).toBe(true);
        });
      });
    });
  }

  it("checks each task's `with` against its step's own parameters", () => {
    const schema = JSON.parse(generated.get("pipeline.schema.json")!) as {
      $defs: Record<string, Record<string, unknown>>;
    };
    const task = schema.$defs.task!;
    const branches = task.allOf as { if: unknown; then: { properties: { with: { $ref: string } } } }[];
    expect(branches.length).toBe(12);
    for (const b of branches) expect(schema.$defs[b.then.properties.with.$ref.slice(8)]).toBeDefined();
  });
});
