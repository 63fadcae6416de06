import type { StepDef, StepTask } from '../pipeline/engine/step.js'
import type { Deps } from '../pipeline/ports/deps.js'
import type { Ctx } from '../pipeline/release/context.js'

/** A release step: a StepDef over the release context and the ports. */
export type ReleaseStep<N extends string = string> = StepDef<Ctx, Deps, N>

/** Declares a step, keeping its literal name (so the table's step names are a type). */
export const defineStep = <N extends string>(step: ReleaseStep<N>): ReleaseStep<N> => step

/** Shows a command's output line under the step; blank lines (kept in logs) are not worth a live line. */
export function showLine(task: StepTask, line: string): void {
  if (line.trim() !== '') task.output = line
}
