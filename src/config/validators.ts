import type { ValidateFunction } from "ajv";
import type { FileKind } from "./document.js";
import { compileSchema } from "./schema-check.js";

/**
 * Validators compiled at build time (`scripts/build-validators.mjs` writes them beside the
 * compiled code): compiling the pipeline schema with ajv takes ~250 ms, which every `validate`
 * and `plan` would otherwise pay. Under the test runner, or when the build did not produce
 * them, the schema is compiled here instead, from the same source.
 */
interface Precompiled {
  validators: Partial<Record<FileKind, ValidateFunction>>;
  /** The step types the pipeline validator was built with. */
  stepNames: string;
}

let precompiled: Promise<Precompiled | undefined> | undefined;
const compiled = new Map<string, ValidateFunction>();

async function loadPrecompiled(): Promise<Precompiled | undefined> {
  try {
    const specifier = "../generated/validators.cjs";
    const mod = (await import(specifier)) as { default?: Precompiled } & Precompiled;
    return mod.default ?? mod;
  } catch {
    return undefined;
  }
}

/** The validator of a file kind; `stepNames` identifies the step registry the pipeline schema holds. */
export async function validatorFor(
  kind: FileKind,
  schema: () => object,
  stepNames = "",
): Promise<ValidateFunction> {
  const key = `${kind}|${stepNames}`;
  const known = compiled.get(key);
  if (known) return known;
  precompiled ??= loadPrecompiled();
  const pre = await precompiled;
  const ready = pre?.validators[kind];
  const validate =
    ready && (kind !== "pipeline" || pre.stepNames === stepNames) ? ready : compileSchema(schema());
  compiled.set(key, validate);
  return validate;
}
