import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { JsonSchema } from "../config/json-schema.js";
import { PIPELINE_SCHEMA_FILE, pipelineJsonSchema } from "../pipeline/schema.js";
import { DEPLOYMENTS_SCHEMA_FILE, deploymentsJsonSchema } from "../schedule/deployments-file.js";
import { WORK_POOL_SCHEMA_FILE, workPoolJsonSchema } from "../schedule/work-pool-file.js";
import { builtinSteps } from "../steps/index.js";

/** The three file schemas as they are committed in `schemas/` (file name -> text). */
export function generateSchemas(): Map<string, string> {
  const schemas: [string, JsonSchema][] = [
    [PIPELINE_SCHEMA_FILE, pipelineJsonSchema(builtinSteps)],
    [WORK_POOL_SCHEMA_FILE, workPoolJsonSchema()],
    [DEPLOYMENTS_SCHEMA_FILE, deploymentsJsonSchema()],
  ];
  return new Map(schemas.map(([name, schema]) => [name, `${JSON.stringify(schema, null, 2)}\n`]));
}

/** `tickflow schemas --out DIR [--check]`: writes the schemas, or reports which differ. */
export async function schemasCommand(options: { out: string; check?: boolean }): Promise<number> {
  const generated = generateSchemas();
  if (options.check) {
    const stale: string[] = [];
    for (const [name, text] of generated) {
      const current = await readFile(join(options.out, name), "utf8").catch(() => "");
      if (current !== text) stale.push(name);
    }
    if (stale.length) {
      process.stderr.write(`out of date in ${options.out}: ${stale.join(", ")} (run: npm run schemas)\n`);
      return 1;
    }
    process.stdout.write(`${generated.size} schemas up to date in ${options.out}\n`);
    return 0;
  }
  await mkdir(options.out, { recursive: true });
  for (const [name, text] of generated) await writeFile(join(options.out, name), text);
  process.stdout.write(`wrote ${[...generated.keys()].map((n) => join(options.out, n)).join(", ")}\n`);
  return 0;
}
