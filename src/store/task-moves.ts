/**
 * The latest state of each task instance a recorder has seen, and the check of each change
 * against the transition table (`canTaskMove`): what both backends' recorders (`RunRecorder`,
 * `RunRecorderPg`) do before buffering a task's row.
 */
import type { TaskRunRow } from "./runs.js";
import { canTaskMove, type TaskState } from "./states.js";

export class TaskMoves {
  private readonly states = new Map<string, TaskState>();

  constructor(private readonly runId: string) {}

  /**
   * Takes `row`'s state as its task's latest. Returns true when it is a change (a transition to
   * record; a first state counts as a change from Pending), false when the state is the same.
   * @throws Error for a change tasks never make (a bug in the caller); nothing is taken then.
   */
  take(row: TaskRunRow): boolean {
    const id = row.task_id;
    const before = this.states.get(id);
    if (before === row.state) return false;
    if (!canTaskMove(before, row.state)) {
      throw new Error(
        `task ${id} of run ${this.runId} cannot go from ${before ?? "Pending"} to ${row.state}`,
      );
    }
    this.states.set(id, row.state);
    return true;
  }
}
