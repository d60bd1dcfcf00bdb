/** A fire time before the calendar filter: an instant (UTC ms) and the DST notes that explain it. */
export interface Candidate {
  at: number;
  notes: string[];
}

/** One schedule's timing rule: the first fire strictly after an instant, or undefined when it ends. */
export interface Trigger {
  next(after: number): Candidate | undefined;
}
