import type { PlanEntry } from './plan.js'

/** What every run context has, whatever the steps do. */
export interface EngineCtx {
  readonly dryRun: boolean
  readonly runId: string
  /** Where this run's artefacts live (a scratch dir in dry-run). */
  readonly runDir: string
  /** The environment the run targets. */
  readonly envName: string
  /** Aborted on Ctrl-C: long in-process work stops with it. */
  readonly signal: AbortSignal
}

/** What a step returns to end the run early, successfully: why the rest does not apply. */
export interface StepStop {
  stop: string
}

/** The handle a step body gets: its title line and the live output under it. */
export interface StepTask {
  title: string | undefined
  output: string | undefined
}

/**
 * One step of a run, everything about it in one value: what it does, whether it applies, what it
 * does in dry-run, what its result depends on (for resume), what it produces and what a failure undoes.
 */
export interface StepDef<C extends EngineCtx, D, N extends string = string> {
  readonly name: N
  /** Short imperative title shown while it runs. */
  readonly title: string
  /**
   * In dry-run: 'run' (its writes go through ports that only add them to the plan) or 'skip' (its
   * {@link plan} says what it would do); a function decides per run (an export endpoint with side effects).
   */
  readonly inDryRun: 'run' | 'skip' | ((ctx: C, deps: D) => 'run' | 'skip')
  /** The context keys the step produces; saved in state.json and restored on --resume. */
  readonly outputs: ReadonlyArray<keyof C & string>
  /** Rerun every time, never reused from an earlier attempt (checks, idempotent edits, deploys). */
  readonly always?: boolean
  /** Lines a terminal keeps visible under the running step. */
  readonly outputBar?: number
  /** Why the step does not apply to this run, or false. */
  skip?(ctx: C, deps: D): string | false | Promise<string | false>
  /**
   * Does the step's work. Returning `{ stop }` ends the run successfully here: every later step is
   * skipped with that reason (e.g. nothing new to release).
   */
  run(ctx: C, deps: D, task: StepTask): Promise<StepStop | undefined>
  /** The dry-run plan of a skipped step. */
  plan?(ctx: C, deps: D): PlanEntry[]
  /** What the result depends on; a completed step is reused on --resume only while these are unchanged. */
  inputs?(ctx: C, deps: D): unknown
  /** Undo after this step failed; returns the error the run ends with (e.g. ROLLED_BACK). */
  onFailure?(ctx: C, deps: D, failure: unknown): Promise<unknown>
}
