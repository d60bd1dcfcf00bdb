import { dirname, resolve } from "node:path";
import { Cron } from "croner";
import { IANAZone } from "luxon";
import rrule from "rrule";
import { glob } from "tinyglobby";
import type { Diagnostic } from "../config/diagnostics.js";
import { displayPath, kindOf, type Loaded, readYamlFile, typedDocument } from "../config/document.js";
import { findLiteralSecrets, literalSecretMessage } from "../config/secrets.js";
import { closest } from "../config/suggest.js";
import { validatorFor } from "../config/validators.js";
import { diagnosticAt, type YamlFile } from "../config/yaml.js";
import { channelSecretMessage, checkNotifyParts, isChannelSecretPath } from "../notify/check.js";
import type { PipelineDocument } from "../pipeline/document.js";
import { loadPipeline } from "../pipeline/load.js";
import { resolveParameters } from "../pipeline/parameters.js";
import type { StepSpec } from "../pipeline/step-spec.js";
import {
  type DeploymentsDocument,
  deploymentsDocument,
  deploymentsJsonSchema,
  lenientDeployments,
} from "./deployments-file.js";
import {
  checkWorkPool,
  queueNames,
  type WorkPoolDocument,
  workPoolDocument,
  workPoolJsonSchema,
} from "./work-pool-file.js";

/** Files already loaded in this check, so a pipeline or pool shared by many deployments is read once. */
export interface LoadCache {
  pipelines: Map<string, Promise<Loaded<PipelineDocument>>>;
  pools: Map<string, Promise<Loaded<WorkPoolDocument>>>;
}

export function newLoadCache(): LoadCache {
  return { pipelines: new Map(), pools: new Map() };
}

function wrongKind(yaml: YamlFile, want: string, got: string): Diagnostic {
  return diagnosticAt(yaml, ["kind"], `expected kind: ${want}, this file is kind: ${got}`);
}

export async function loadWorkPool(file: string): Promise<Loaded<WorkPoolDocument>> {
  const read = await readYamlFile(file);
  if (!read.yaml) return { diagnostics: read.diagnostics };
  return checkWorkPoolFile(read.yaml, read.diagnostics);
}

export async function checkWorkPoolFile(
  yaml: YamlFile,
  earlier: Diagnostic[] = [],
): Promise<Loaded<WorkPoolDocument>> {
  const kind = kindOf(yaml);
  if (typeof kind !== "string") return { yaml, diagnostics: [...earlier, kind] };
  if (kind !== "work_pool") return { yaml, diagnostics: [...earlier, wrongKind(yaml, "work_pool", kind)] };
  const typed = typedDocument(yaml, await validatorFor("work_pool", workPoolJsonSchema), workPoolDocument);
  const diagnostics = [...earlier, ...typed.diagnostics];
  if (typed.doc) {
    diagnostics.push(...checkWorkPool(yaml, typed.doc));
    for (const s of findLiteralSecrets(yaml.value))
      diagnostics.push(diagnosticAt(yaml, s.path, literalSecretMessage(s.key)));
  }
  const ok = !diagnostics.some((d) => d.severity === "error");
  return { yaml, doc: ok ? typed.doc : undefined, diagnostics };
}

export interface CheckedDeployments extends Loaded<DeploymentsDocument> {
  pools: Map<string, WorkPoolDocument>;
}

export async function loadDeployments(
  file: string,
  steps: readonly StepSpec[],
  cache: LoadCache = newLoadCache(),
): Promise<CheckedDeployments> {
  const read = await readYamlFile(file);
  if (!read.yaml) return { diagnostics: read.diagnostics, pools: new Map() };
  return checkDeploymentsFile(read.yaml, steps, cache, read.diagnostics);
}

/**
 * Schema, then: unique names, one trigger per schedule, cron strings, time zones, rrules, the
 * pipeline file (which must exist and be valid) and its parameters, the work pools and queues.
 */
export async function checkDeploymentsFile(
  yaml: YamlFile,
  steps: readonly StepSpec[],
  cache: LoadCache,
  earlier: Diagnostic[] = [],
): Promise<CheckedDeployments> {
  const pools = new Map<string, WorkPoolDocument>();
  const kind = kindOf(yaml);
  if (typeof kind !== "string") return { yaml, diagnostics: [...earlier, kind], pools };
  if (kind !== "deployments")
    return { yaml, diagnostics: [...earlier, wrongKind(yaml, "deployments", kind)], pools };
  const typed = typedDocument(
    yaml,
    await validatorFor("deployments", deploymentsJsonSchema),
    deploymentsDocument,
  );
  const out = [...earlier, ...typed.diagnostics];
  // With schema errors, the other checks still run over the well-formed parts.
  const doc = typed.doc ?? lenientDeployments(yaml.value);
  if (!doc) return { yaml, diagnostics: out, pools };
  const base = dirname(yaml.file);

  // Work pools
  const poolFiles = new Map<string, number>();
  for (const [i, pattern] of (doc.work_pools ?? []).entries()) {
    const matches = (await glob(pattern, { cwd: base, absolute: true, onlyFiles: true })).sort();
    if (!matches.length)
      out.push(
        diagnosticAt(yaml, ["work_pools", i], `"${pattern}" matches no file (relative to ${base || "."})`),
      );
    for (const m of matches) poolFiles.set(m, i);
  }
  for (const [abs, i] of poolFiles) {
    let loading = cache.pools.get(abs);
    if (!loading) {
      loading = loadWorkPool(displayPath(abs));
      cache.pools.set(abs, loading);
    }
    const pool = await loading;
    out.push(...pool.diagnostics);
    if (!pool.doc) {
      if (!pool.diagnostics.length)
        out.push(diagnosticAt(yaml, ["work_pools", i], `work pool file ${abs} is invalid`));
      continue;
    }
    if (pools.has(pool.doc.name)) {
      out.push(diagnosticAt(yaml, ["work_pools", i], `work pool "${pool.doc.name}" is defined twice`));
    }
    pools.set(pool.doc.name, pool.doc);
  }

  const names = new Set<string>();
  for (const [i, dep] of doc.deployments.entries()) {
    const at = (path: (string | number)[], message: string, severity: "error" | "warning" = "error") =>
      out.push(diagnosticAt(yaml, ["deployments", i, ...path], message, { severity }));
    if (!dep.name || !dep.pipeline) continue; // reported by the schema
    if (names.has(dep.name)) at(["name"], `duplicate deployment name "${dep.name}"`);
    names.add(dep.name);

    for (const [j, s] of (dep.schedules ?? []).entries()) {
      const triggers = (["cron", "interval", "rrule"] as const).filter((k) => s[k] !== undefined);
      if (triggers.length !== 1) {
        at(
          ["schedules", j],
          triggers.length
            ? `a schedule has exactly one of cron, interval, rrule; this one has ${triggers.join(" and ")}`
            : "a schedule needs one of cron, interval, rrule",
        );
      }
      if (s.timezone !== undefined && !IANAZone.isValidZone(s.timezone)) {
        const hint = closest(s.timezone, Intl.supportedValuesOf("timeZone"));
        at(
          ["schedules", j, "timezone"],
          `unknown time zone "${s.timezone}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
        );
      }
      if (s.cron !== undefined) {
        const problem = cronProblem(s.cron);
        if (problem) at(["schedules", j, "cron"], problem.message, problem.severity);
      }
      if (s.rrule !== undefined) {
        const problem = rruleProblem(s.rrule);
        if (problem) at(["schedules", j, "rrule"], problem);
      }
    }

    // Work pool and queue
    const poolName = dep.work_pool?.name ?? "default";
    const pool = pools.get(poolName);
    if (!pool && (pools.size > 0 || poolName !== "default")) {
      const known = [...pools.keys()];
      at(
        dep.work_pool ? ["work_pool", "name"] : ["name"],
        `unknown work pool "${poolName}"${known.length ? ` (known: ${known.join(", ")})` : ": list its file in work_pools"}`,
      );
    } else if (
      pool &&
      dep.work_pool?.queue !== undefined &&
      !queueNames(pool).includes(dep.work_pool.queue)
    ) {
      at(
        ["work_pool", "queue"],
        `work pool "${poolName}" has no queue "${dep.work_pool.queue}" (queues: ${queueNames(pool).join(", ")})`,
      );
    }

    // Pipeline and parameters
    const pipelinePath = resolve(base, dep.pipeline);
    let loading = cache.pipelines.get(pipelinePath);
    if (!loading) {
      loading = loadPipeline(displayPath(pipelinePath), steps);
      cache.pipelines.set(pipelinePath, loading);
    }
    const pipeline = await loading;
    if (!pipeline.yaml && pipeline.diagnostics.some((d) => /no such file/.test(d.message))) {
      at(["pipeline"], `pipeline file "${dep.pipeline}" not found (resolved to ${pipelinePath})`);
      continue;
    }
    out.push(...pipeline.diagnostics);
    if (!pipeline.doc) {
      const n = pipeline.diagnostics.filter((d) => d.severity === "error").length;
      at(["pipeline"], `pipeline "${dep.pipeline}" is invalid (${n} error${n === 1 ? "" : "s"})`);
      continue;
    }
    const decls = pipeline.doc.parameters ?? {};
    const sets: { path: (string | number)[]; values: Record<string, unknown> }[] = dep.schedules?.length
      ? dep.schedules.map((s, j) => ({
          path: s.parameters ? ["schedules", j, "parameters"] : ["parameters"],
          values: { ...dep.parameters, ...s.parameters },
        }))
      : [{ path: ["parameters"], values: dep.parameters ?? {} }];
    const reported = new Set<string>();
    for (const set of sets) {
      for (const p of resolveParameters(decls, set.values).problems) {
        const key = `${set.path.join("/")}|${p.name}|${p.message}`;
        if (reported.has(key)) continue;
        reported.add(key);
        const own = p.name in (set.values ?? {}) ? [...set.path, p.name] : set.path;
        at(own, `parameter "${p.name}" of pipeline ${pipeline.doc.name} ${p.message}`, "error");
      }
    }
  }
  out.push(...checkNotifyParts(yaml, doc));
  for (const s of findLiteralSecrets(yaml.value, [], isChannelSecretPath))
    out.push(
      diagnosticAt(
        yaml,
        s.path,
        isChannelSecretPath(s.path) ? channelSecretMessage(s.path) : literalSecretMessage(s.key),
      ),
    );
  const ok = typed.doc !== undefined && !out.some((d) => d.severity === "error");
  return { yaml, doc: ok ? doc : undefined, diagnostics: out, pools };
}

/** Why a cron string is wrong (an error) or will never fire (a warning), or undefined. */
export function cronProblem(expr: string): { message: string; severity: "error" | "warning" } | undefined {
  try {
    const job = new Cron(expr, { paused: true });
    if (!job.nextRun()) return { message: `cron "${expr}" never fires`, severity: "warning" };
    return undefined;
  } catch (err) {
    const why = (err as Error).message.replace(/^CronPattern: /, "");
    return { message: `invalid cron "${expr}": ${why}`, severity: "error" };
  }
}

export function rruleProblem(text: string): string | undefined {
  try {
    const rule = rrule.rrulestr(text);
    if (rule.options.freq === undefined || rule.options.freq === null)
      return `invalid rrule "${text}": FREQ is missing`;
    return undefined;
  } catch (err) {
    const message = (err as Error).message;
    // rrule throws TypeErrors from deep inside on bad parts, and some of its own messages print
    // "undefined": name the rule rather than the symptom.
    const shown = /^Invalid|^Unknown/.test(message) && !/undefined/.test(message);
    return `invalid rrule "${text}"${shown ? `: ${message}` : ""}`;
  }
}
