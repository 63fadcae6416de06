import { buildStep } from './build.js'
import { composeStep } from './compose.js'
import { deployStep } from './deploy.js'
import { exportStep } from './export.js'
import { gateStep } from './gate.js'
import { preflightStep } from './preflight.js'
import { publishStep } from './publish.js'
import { pushStep } from './push.js'
import { recordStep } from './record.js'
import { targetStep } from './target.js'
import { trainStep } from './train.js'
import { validateStep } from './validate.js'
import { verifyStep } from './verify.js'
import { versionStep } from './version.js'

/**
 * From the model to the running service: the tail of a release, and all of `promote` and `rollback`
 * after their first step. A step added here is in both.
 */
const ROLLOUT_STEPS = [composeStep, buildStep, publishStep, deployStep, verifyStep, recordStep] as const

/** The release, in order: one line per step. Adding a step = one file in tasks/ + one line here. */
export const RELEASE_STEPS = [
  preflightStep,
  exportStep,
  validateStep,
  trainStep,
  gateStep,
  versionStep,
  pushStep,
  ...ROLLOUT_STEPS,
] as const

/** `promote` and `rollback`: point an environment at an existing model, journaled like a release. */
export const PROMOTE_STEPS = [targetStep, ...ROLLOUT_STEPS] as const

export type StepName = (typeof RELEASE_STEPS)[number]['name']
export const STEP_NAMES: readonly StepName[] = RELEASE_STEPS.map((s) => s.name)

export function isStepName(name: string): name is StepName {
  return (STEP_NAMES as readonly string[]).includes(name)
}

/** Steps before the long work (training): bad input found there leaves no trace of the run. */
export const STEPS_BEFORE_LONG_WORK: readonly StepName[] = ['preflight', 'export', 'validate']
