/** What `tasks.X` needs to know of an instance. */
export interface OutputSource {
  /** Its task id, and its `for_each` item. */
  planned: { task: string; item?: unknown };
  /** Indexes of the instances it needs. */
  needs: readonly number[];
  result: { outputs: Record<string, unknown>; state: string };
}

export type TasksContext = Record<string, { outputs: Record<string, unknown>; state?: string }>;

/** Instance indexes of each task id, in plan order. */
export function instancesByTask(instances: readonly OutputSource[]): Map<string, number[]> {
  const byTask = new Map<string, number[]>();
  for (const [i, inst] of instances.entries()) {
    const list = byTask.get(inst.planned.task);
    if (list) list.push(i);
    else byTask.set(inst.planned.task, [i]);
  }
  return byTask;
}

/**
 * What `tasks.X` means to an instance, for each X in `refs`: X's own result; for a `for_each` X,
 * the instance paired with this one (same item), or else every instance's outputs gathered into
 * lists in item order (null where one has no such output), Failed if any failed.
 */
export function tasksContext(
  inst: OutputSource,
  refs: readonly string[],
  instances: readonly OutputSource[],
  byTask: ReadonlyMap<string, readonly number[]>,
): TasksContext {
  const out: TasksContext = {};
  for (const name of refs) {
    const group = byTask.get(name);
    if (!group) continue;
    const own = group.length === 1 && instances[group[0]!]!.planned.item === undefined;
    if (own) {
      const r = instances[group[0]!]!.result;
      out[name] = { outputs: r.outputs, state: r.state };
      continue;
    }
    const paired = inst.needs.filter((n) => instances[n]!.planned.task === name);
    if (paired.length === 1 && inst.planned.item !== undefined) {
      const r = instances[paired[0]!]!.result;
      out[name] = { outputs: r.outputs, state: r.state };
      continue;
    }
    const outputs: Record<string, unknown[]> = {};
    let state = "Completed";
    for (const [k, i] of group.entries()) {
      const r = instances[i]!.result;
      for (const [key, v] of Object.entries(r.outputs)) {
        outputs[key] ??= Array(group.length).fill(null);
        outputs[key][k] = v;
      }
      if (r.state === "Failed") state = "Failed";
    }
    out[name] = { outputs, state };
  }
  return out;
}
