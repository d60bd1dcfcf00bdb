import { needsOf, type PipelineDocument } from "./document.js";

/**
 * The `needs` graph of a pipeline by task number (file order), for the checks and the plan. Every
 * walk here is iterative and linear (or, for `upstream`, a bit per pair of tasks): a pipeline of
 * 10,000 tasks in one chain must neither overflow the stack nor take quadratic time and memory.
 */
export interface TaskGraph {
  ids: string[];
  index: Map<string, number>;
  /** Each task's needs that are other tasks of the file, without repeats. */
  needs: number[][];
}

export function taskGraph(doc: PipelineDocument): TaskGraph {
  const ids = Object.keys(doc.tasks);
  const index = new Map(ids.map((id, i) => [id, i]));
  const needs = ids.map((id, i) => {
    const known = new Set<number>();
    for (const need of needsOf(doc.tasks[id]!)) {
      const n = index.get(need);
      if (n !== undefined && n !== i) known.add(n);
    }
    return [...known];
  });
  return { ids, index, needs };
}

/**
 * Cycles among `needs`, each as its task ids from the task first reached, found by a depth-first
 * walk in file order (one per edge back to a task being walked), at most `limit` of them.
 */
export function findCycles(graph: TaskGraph, limit = Number.POSITIVE_INFINITY): string[][] {
  const n = graph.ids.length;
  const DONE = -2;
  const UNSEEN = -1;
  /** A task's place on the walk's stack while it is walked, else UNSEEN or DONE. */
  const place = new Int32Array(n).fill(UNSEEN);
  const stack: number[] = [];
  const nextNeed: number[] = [];
  const cycles: string[][] = [];
  for (let start = 0; start < n && cycles.length < limit; start++) {
    if (place[start] !== UNSEEN) continue;
    place[start] = 0;
    stack.push(start);
    nextNeed.push(0);
    while (stack.length && cycles.length < limit) {
      const top = stack.length - 1;
      const id = stack[top]!;
      const need = graph.needs[id]![nextNeed[top]!++];
      if (need === undefined) {
        place[id] = DONE;
        stack.pop();
        nextNeed.pop();
      } else if (place[need] === UNSEEN) {
        place[need] = stack.length;
        stack.push(need);
        nextNeed.push(0);
      } else if (place[need] !== DONE) {
        cycles.push(stack.slice(place[need]).map((i) => graph.ids[i]!));
      }
    }
  }
  return cycles;
}

/** Task numbers in topological order, the one written first among ready tasks first; tasks in or after a cycle are left out. */
export function topologicalOrder(graph: TaskGraph): number[] {
  const n = graph.ids.length;
  const waiting = new Int32Array(n);
  const dependants: number[][] = graph.ids.map(() => []);
  for (let i = 0; i < n; i++) {
    waiting[i] = graph.needs[i]!.length;
    for (const need of graph.needs[i]!) dependants[need]!.push(i);
  }
  const ready = new MinHeap();
  for (let i = 0; i < n; i++) if (waiting[i] === 0) ready.push(i);
  const order: number[] = [];
  while (ready.size) {
    const i = ready.pop();
    order.push(i);
    for (const d of dependants[i]!) {
      waiting[d] = waiting[d]! - 1;
      if (waiting[d] === 0) ready.push(d);
    }
  }
  return order;
}

/**
 * `upstream(task, other)`: whether `task` needs `other`, directly or through other tasks. Direct
 * needs answer at once; the rest from one bit set of ancestors per task, built on first use in
 * topological order (for tasks in a cycle, which is reported anyway, the sets are partial).
 */
export function upstreamOf(graph: TaskGraph): (task: string, other: string) => boolean {
  let ancestors: Uint32Array[] | undefined;
  return (task, other) => {
    const t = graph.index.get(task);
    const o = graph.index.get(other);
    if (t === undefined || o === undefined) return false;
    if (graph.needs[t]!.includes(o)) return true;
    ancestors ??= ancestorBits(graph);
    return (ancestors[t]![o >>> 5]! & (1 << (o & 31))) !== 0;
  };
}

function ancestorBits(graph: TaskGraph): Uint32Array[] {
  const n = graph.ids.length;
  const words = (n + 31) >>> 5;
  const all = new Uint32Array(n * words);
  const bits = graph.ids.map((_, i) => all.subarray(i * words, (i + 1) * words));
  const placed = new Uint8Array(n);
  const order = topologicalOrder(graph);
  for (const i of order) placed[i] = 1;
  for (let i = 0; i < n; i++) if (!placed[i]) order.push(i);
  for (const i of order) {
    const mine = bits[i]!;
    for (const need of graph.needs[i]!) {
      const theirs = bits[need]!;
      for (let w = 0; w < words; w++) mine[w] = mine[w]! | theirs[w]!;
      mine[need >>> 5] = mine[need >>> 5]! | (1 << (need & 31));
    }
  }
  return bits;
}

/** A binary heap of task numbers, smallest first. */
class MinHeap {
  private items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(value: number): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (a[parent]! <= value) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = value;
  }

  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= a.length) break;
        const right = left + 1;
        const child = right < a.length && a[right]! < a[left]! ? right : left;
        if (a[child]! >= last) break;
        a[i] = a[child]!;
        i = child;
      }
      a[i] = last;
    }
    return top;
  }
}
