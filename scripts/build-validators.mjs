// Compiles the three file schemas to standalone ajv validators (dist/generated/validators.cjs),
// so the CLI does not pay ajv's compile time on every start. Run after tsc (see package.json).
import { mkdirSync, writeFileSync } from "node:fs";
import { _ } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import standaloneModule from "ajv/dist/standalone/index.js";
import addFormatsModule from "ajv-formats";
import { pipelineJsonSchema } from "../dist/pipeline/schema.js";
import { deploymentsJsonSchema } from "../dist/schedule/deployments-file.js";
import { workPoolJsonSchema } from "../dist/schedule/work-pool-file.js";
import { builtinSteps } from "../dist/steps/index.js";

const standaloneCode = standaloneModule.default ?? standaloneModule;
const addFormats = addFormatsModule.default ?? addFormatsModule;

const ajv = new Ajv2020({
  allErrors: true,
  strict: false,
  verbose: true,
  code: { source: true, formats: _`require("ajv-formats/dist/formats").fullFormats` },
});
addFormats(ajv);
ajv.addSchema(pipelineJsonSchema(builtinSteps), "pipeline");
ajv.addSchema(workPoolJsonSchema(), "work_pool");
ajv.addSchema(deploymentsJsonSchema(), "deployments");
const code = standaloneCode(ajv, {
  pipeline: "pipeline",
  work_pool: "work_pool",
  deployments: "deployments",
});
const stepNames = builtinSteps.map((s) => s.name).join(",");
const out = `${code}\nexports.validators = { pipeline: exports.pipeline, work_pool: exports.work_pool, deployments: exports.deployments };\nexports.stepNames = ${JSON.stringify(stepNames)};\n`;
mkdirSync(new URL("../dist/generated/", import.meta.url), { recursive: true });
writeFileSync(new URL("../dist/generated/validators.cjs", import.meta.url), out);
