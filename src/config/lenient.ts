import type { z } from "zod";

/**
 * The fields of a mapping that are well-formed on their own, for a document that failed its
 * schema: the semantic checks run over what is sound, so one pass reports every error.
 */
export function wellFormedFields(value: unknown, shape: Record<string, z.ZodType>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  if (!value || typeof value !== "object" || Array.isArray(value)) return kept;
  for (const [k, v] of Object.entries(value)) {
    if (Object.hasOwn(shape, k) && shape[k]!.safeParse(v).success) kept[k] = v;
  }
  return kept;
}
