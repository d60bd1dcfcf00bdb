/** A fire time before the calendar filter: an instant (UTC ms) and the DST notes that explain it. */
export interface Candidate {
  at: number;
  notes: string[];
}

/** One schedule's timing rule: the first fire strictly after an instant, or undefined when it ends. */
export interface Trigger {
  next(after: number): Candidate | undefined;
}

/**
 * The trigger with its last answer remembered: `next(t)` is the same fire for every `t` from the
 * instant asked up to that fire, so a scheduler asking again each pass, a little later each time,
 * runs the rule only when a fire has been passed.
 */
export function remembering(trigger: Trigger): Trigger {
  let askedAt = Number.NaN;
  let answer: Candidate | undefined;
  return {
    next(after: number): Candidate | undefined {
      if (after >= askedAt && (answer === undefined || after < answer.at)) return answer;
      askedAt = after;
      answer = trigger.next(after);
      return answer;
    },
  };
}
