// Fitting the fine-tuning schedule to a time budget (--time-budget): the first steps are timed
// (the very first one is left out: it pays for warm-up), then the number of steps — and with it
// the cosine schedule's length — is cut so that the rest fits in what is left of the budget
// after a reserve (the evaluation that follows). Steps slow down on a busy machine, so the
// projection is checked again every 5 % of the schedule and the schedule cut again when it
// would overrun by more than 2 %. A schedule that already fits is kept; the budget never
// lengthens it.

export interface ScheduleChoice {
  /** Seconds the fine-tuning loop was given. */
  budgetSeconds: number;
  /** Measured seconds a step. */
  stepSeconds: number;
  /** Steps the measurement is based on. */
  measuredSteps: number;
  /** Steps asked for (--epochs / --steps). */
  requestedSteps: number;
  /** Steps chosen to fit. */
  steps: number;
  /** Times the schedule was cut again after the first choice. */
  refits: number;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** The --time-budget decision in words. */
export function describeSchedule(c: ScheduleChoice): string {
  const fit = c.steps < c.requestedSteps ? `${c.steps} of the ${c.requestedSteps} steps fit` : `all ${c.requestedSteps} steps fit`;
  const again = c.refits ? ` (cut again ${c.refits}× as steps slowed)` : '';
  return `time budget: ${c.stepSeconds.toFixed(2)} s a step over ${c.measuredSteps} step(s); ${fit} in the ${formatDuration(c.budgetSeconds)} left for fine-tuning${again}, cosine schedule over ${c.steps} steps`;
}

/** Timed steps after the first before deciding, unless 5 % of the budget passes first. */
const PROBE_STEPS = 8;
const PROBE_FRACTION = 0.05;

export class TimeBudget {
  private first: number | undefined;
  private choice: ScheduleChoice | undefined;
  private nextCheck = 0;

  constructor(
    private readonly seconds: number,
    private readonly requested: number,
    /** Seconds to keep for the work after the loop. */
    private readonly reserve: number,
  ) {}

  /**
   * Call after each step with the steps done and the loop's elapsed seconds; returns the
   * choice when it is made or changed.
   */
  afterStep(done: number, elapsed: number): ScheduleChoice | undefined {
    if (done === 1) this.first = elapsed;
    const timed = done - 1;
    const span = elapsed - (this.first ?? 0);
    const left = this.seconds - this.reserve - elapsed;
    const stepSeconds = timed >= 1 ? span / timed : elapsed / done;
    const fit = () => Math.max(done, Math.min(this.requested, done + (stepSeconds > 0 ? Math.floor(Math.max(0, left) / stepSeconds) : this.requested)));
    if (!this.choice) {
      const probed = timed >= PROBE_STEPS || (timed >= 1 && span >= PROBE_FRACTION * this.seconds);
      if (!probed && done < this.requested && left > 0) return undefined;
      this.choice = { budgetSeconds: this.seconds, stepSeconds, measuredSteps: Math.max(1, timed), requestedSteps: this.requested, steps: fit(), refits: 0 };
      this.nextCheck = done + Math.max(1, Math.round(this.choice.steps / 20));
      return this.choice;
    }
    if (done < this.nextCheck || done >= this.choice.steps) return undefined;
    this.nextCheck = done + Math.max(1, Math.round(this.choice.steps / 20));
    const projected = elapsed + (this.choice.steps - done) * stepSeconds;
    if (projected <= 1.02 * (this.seconds - this.reserve)) return undefined;
    this.choice = { ...this.choice, stepSeconds, measuredSteps: timed, steps: fit(), refits: this.choice.refits + 1 };
    return this.choice;
  }
}
