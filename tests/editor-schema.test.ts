// The committed JSON Schemas as editors see them: Red Hat's yaml-language-server 1.25.0 (VS Code's
// YAML extension), run in-process and offline on the example files and on broken copies of them.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "vscode-languageserver-types";
import {
  createYamlLs,
  DiagnosticSeverity,
  fileUri,
  positionOf,
  REPO,
  readRepoFile,
  readSchema,
  replaceOnce,
  type TextDocument,
  type YamlLs,
  yamlDocument,
} from "./helpers/yaml-ls.js";

const listYaml = (dir: string) =>
  readdirSync(join(REPO, dir))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => `${dir}/${f}`);

const EXAMPLES: { path: string; schema: string }[] = [
  ...listYaml("pipelines").map((path) => ({ path, schema: "pipeline.schema.json" })),
  { path: "deployment/tickflow.yaml", schema: "deployments.schema.json" },
  ...listYaml("deployment/work-pools").map((path) => ({ path, schema: "work-pool.schema.json" })),
];

const POLYGON = "pipelines/polygon_daily.yaml";
const MODELINE = /^# yaml-language-server: \$schema=.*\n/;

const pipelineSchema = readSchema("pipeline.schema.json");

/** The `description` at a JSON pointer of the pipeline schema, e.g. "/properties/max_parallel". */
function description(pointer: string): string {
  let node: unknown = pipelineSchema;
  for (const key of pointer.split("/").slice(1)) node = (node as Record<string, unknown>)[key];
  const text = (node as { description?: unknown }).description;
  if (typeof text !== "string" || text === "") throw new Error(`no description at ${pointer}`);
  return text;
}

function show(diagnostics: Diagnostic[]): string {
  if (diagnostics.length === 0) return "(no diagnostics)";
  return diagnostics
    .map(
      (d) => `  line ${d.range.start.line + 1}:${d.range.start.character + 1} [${d.severity}] ${d.message}`,
    )
    .join("\n");
}

const problems = (diagnostics: Diagnostic[]) =>
  diagnostics.filter(
    (d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning,
  );

async function validate(yls: YamlLs, doc: TextDocument): Promise<Diagnostic[]> {
  return yls.ls.doValidation(doc, false);
}

/** The broken copy gets an Error or Warning whose range starts on the line of `at`. */
async function expectFlagged(yls: YamlLs, path: string, text: string, at: string, message: RegExp) {
  const doc = yamlDocument(path, text);
  const diagnostics = await validate(yls, doc);
  const line = positionOf(text, at).line;
  const hit = problems(diagnostics).find((d) => d.range.start.line === line && message.test(d.message));
  expect(
    hit,
    `expected a diagnostic on line ${line + 1} matching ${message}, got:\n${show(diagnostics)}`,
  ).toBeDefined();
}

async function hoverText(
  yls: YamlLs,
  path: string,
  text: string,
  needle: string,
  shift = 1,
): Promise<string> {
  const hover = await yls.ls.doHover(yamlDocument(path, text), positionOf(text, needle, shift));
  const contents = hover?.contents;
  const value = typeof contents === "object" && contents && "value" in contents ? contents.value : "";
  // Undo the Markdown escaping yaml-language-server applies (`_` → `\_`, ...).
  return value.replace(/\\(.)/g, "$1");
}

async function completionLabels(yls: YamlLs, path: string, text: string, needle: string): Promise<string[]> {
  const list = await yls.ls.doComplete(
    yamlDocument(path, text),
    positionOf(text, needle, needle.length),
    false,
  );
  return list.items.map((i) => i.label);
}

describe("schemas in yaml-language-server 1.25.0 (modeline `# yaml-language-server: $schema=...`)", () => {
  const yls = createYamlLs();

  it.each(EXAMPLES)("$path: no errors or warnings", async ({ path }) => {
    const diagnostics = await validate(yls, yamlDocument(path, readRepoFile(path)));
    expect(problems(diagnostics), show(diagnostics)).toEqual([]);
  });

  it.each(EXAMPLES)(
    "$path: the modeline binds $schema (an unknown top-level key is reported)",
    async ({ path, schema }) => {
      const text = `${readRepoFile(path).trimEnd()}\nnot_a_key: 1\n`;
      await expectFlagged(yls, path, text, "not_a_key: 1", /not_a_key/);
      // Read from schemas/ on disk, nothing else (no meta-schema, no network).
      expect(yls.requested).toContain(fileUri(`schemas/${schema}`));
      expect(yls.requested.filter((uri) => !uri.startsWith(fileUri("schemas/")))).toEqual([]);
    },
  );

  describe(`broken copies of ${POLYGON}`, () => {
    const original = readRepoFile(POLYGON);

    it("an unknown task key (`retires: 3` in fetch) is flagged on its line", async () => {
      const text = replaceOnce(original, "    retries: 3\n", "    retries: 3\n    retires: 3\n");
      await expectFlagged(yls, POLYGON, text, "retires: 3", /retires/);
    });

    it("`max_parallel: eight` is flagged on its line", async () => {
      const text = replaceOnce(original, "max_parallel: 8\n", "max_parallel: eight\n");
      await expectFlagged(yls, POLYGON, text, "max_parallel: eight", /integer/);
    });

    it("a bad step parameter (`rate_limit: lots` in fetch's `with`) is flagged: if/then per `uses` works", async () => {
      const text = replaceOnce(original, "rate_limit: 5 ", "rate_limit: lots ");
      await expectFlagged(yls, POLYGON, text, "rate_limit: lots", /number/);
    });

    it("an unknown step parameter (`colour: red` in fetch's `with`) is flagged", async () => {
      const text = replaceOnce(original, "      rate_limit: 5", "      colour: red\n      rate_limit: 5");
      await expectFlagged(yls, POLYGON, text, "colour: red", /colour/);
    });

    it("the branch follows `uses`: a polygon parameter (`days_back`) in an indicators task is flagged", async () => {
      const text = replaceOnce(
        original,
        "      indicators: [sma_20",
        "      days_back: 3\n      indicators: [sma_20",
      );
      await expectFlagged(yls, POLYGON, text, "days_back: 3", /days_back/);
    });

    it("a required step parameter missing (fetch without `symbols`) is flagged on the `with` key", async () => {
      const text = replaceOnce(
        original,
        "      symbols: ${{ params.symbols }}\n      days_back",
        "      days_back",
      );
      await expectFlagged(yls, POLYGON, text, "    with:\n      days_back", /symbols/);
    });

    it("anyOf with $ref to $defs: `retry_delay: [10s, soon]` is flagged on its line", async () => {
      const text = replaceOnce(original, "retry_delay: [10s, 30s, 2m]", "retry_delay: [10s, soon]");
      await expectFlagged(yls, POLYGON, text, "retry_delay: [10s, soon]", /pattern/);
    });

    it("a bad task id (propertyNames pattern) is flagged on its line", async () => {
      const text = replaceOnce(original, "  indicators:\n", '  "bad id":\n');
      await expectFlagged(yls, POLYGON, text, '"bad id":', /pattern/);
    });
  });

  describe("hover", () => {
    const text = readRepoFile(POLYGON);

    it("on `max_parallel` shows its description", async () => {
      const expected = description("/properties/max_parallel");
      expect(expected).toMatch(/in flight/);
      expect(await hoverText(yls, POLYGON, text, "max_parallel")).toContain(expected);
    });

    it("on `uses` shows its description", async () => {
      const expected = description("/$defs/task/properties/uses");
      expect(await hoverText(yls, POLYGON, text, "uses: polygon.daily_bars")).toContain(expected);
    });

    // yaml-language-server shows the description of the FIRST matching subschema that has one,
    // so `with`'s additionalProperties carries none: the step's own branch (if/then) must win.
    it("on a parameter in a task's `with` shows that step's description", async () => {
      expect(
        (pipelineSchema as { $defs: { task: { properties: { with: { additionalProperties: object } } } } })
          .$defs.task.properties.with.additionalProperties,
      ).not.toHaveProperty("description");
      const expected = description("/$defs/with_polygon_daily_bars/properties/days_back");
      expect(expected).toMatch(/NYSE trading sessions/);
      expect(
        await hoverText(yls, POLYGON, text, "days_back: ${{ params.days_back }}\n      api_key"),
      ).toContain(expected);
      // A literal value too.
      expect(await hoverText(yls, POLYGON, text, "rate_limit: 5")).toContain(
        description("/$defs/with_polygon_daily_bars/properties/rate_limit"),
      );
    });
  });

  describe("completion", () => {
    const original = readRepoFile(POLYGON);

    it("inside a new task mapping offers uses, with, needs", async () => {
      const text = replaceOnce(original, "  validate:\n", "  extra:\n    \n  validate:\n");
      const labels = await completionLabels(yls, POLYGON, text, "  extra:\n    ");
      expect(labels).toEqual(expect.arrayContaining(["uses", "with", "needs", "retries", "timeout"]));
    });

    it("on `uses:` offers the step types", async () => {
      const text = replaceOnce(original, "  validate:\n", "  extra:\n    uses: \n  validate:\n");
      const labels = await completionLabels(yls, POLYGON, text, "  extra:\n    uses: ");
      expect(labels).toEqual(expect.arrayContaining(["polygon.daily_bars", "log", "sql"]));
    });

    it("inside `with` offers the parameters of the step named by `uses` (if/then)", async () => {
      const text = replaceOnce(
        original,
        "  validate:\n",
        "  extra:\n    uses: log\n    with:\n      le\n  validate:\n",
      );
      const labels = await completionLabels(yls, POLYGON, text, "    with:\n      le");
      expect(labels).toEqual(expect.arrayContaining(["message", "level"]));
      expect(labels).not.toContain("days_back");
    });
  });
});

describe("schemas in yaml-language-server 1.25.0 (`yaml.schemas` settings: uri + fileMatch, no modeline)", () => {
  const association = (schema: string, fileMatch: string) => ({
    uri: fileUri(`schemas/${schema}`),
    fileMatch: [fileMatch],
    schema: readSchema(schema),
  });
  const yls = createYamlLs([
    association("pipeline.schema.json", "**/pipelines/*.yaml"),
    association("deployments.schema.json", "**/deployment/tickflow.yaml"),
    association("work-pool.schema.json", "**/deployment/work-pools/*.yaml"),
  ]);

  it.each(EXAMPLES)(
    "$path: no errors or warnings, and an unknown top-level key is reported",
    async ({ path }) => {
      const text = readRepoFile(path);
      expect(text).toMatch(MODELINE);
      const clean = text.replace(MODELINE, "");
      const diagnostics = await validate(yls, yamlDocument(path, clean));
      expect(problems(diagnostics), show(diagnostics)).toEqual([]);
      await expectFlagged(yls, path, `${clean.trimEnd()}\nnot_a_key: 1\n`, "not_a_key: 1", /not_a_key/);
    },
  );

  it("the same broken step parameter is flagged", async () => {
    const text = replaceOnce(
      readRepoFile(POLYGON).replace(MODELINE, ""),
      "rate_limit: 5 ",
      "rate_limit: lots ",
    );
    await expectFlagged(yls, POLYGON, text, "rate_limit: lots", /number/);
    expect(yls.requested).toEqual([]);
  });
});
