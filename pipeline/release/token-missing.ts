import type { Plan } from '../engine/plan.js'
import type { StepDef } from '../engine/step.js'
import type { Deps } from '../ports/deps.js'
import type { ModelRegistry } from '../registry/types.js'
import type { Ctx } from './context.js'

// A dry run without the Hugging Face token (issue 23, item 3). A real run stops at preflight; a dry run
// is how a newcomer learns what a release does, so it shows the whole plan instead: the registry's
// reads answer "nothing there" without a request, each step the token is needed for is marked in the
// plan, and the command ends with the token error (exit 2) after the plan.

/** The steps that need the token, and what for. */
export const TOKEN_STEPS: Readonly<Record<string, string>> = {
  preflight: 'checks the token and its write access to the org on the Hub',
  version: 'lists the versions on the Hub: the plan assumes it holds none',
  gate: "reads the current model's metrics from the Hub (no-regression gate)",
  push: 'creates the private repo and uploads the model',
}

/** The mark a step gets in the plan: `✗ <step> needs HF_TOKEN: <what for>`. */
export const tokenMark = (step: string): string => `✗ ${step} needs HF_TOKEN: ${TOKEN_STEPS[step] ?? 'the Hub'}`

/** The registry as a dry run without a token sees it: every read answers "not there", nothing is sent. */
export function registryWithoutToken(registry: ModelRegistry): ModelRegistry {
  return Object.assign(Object.create(registry) as ModelRegistry, {
    checkAccess: async () => {},
    listModels: async () => [],
    getModel: async () => undefined,
    readFile: async () => undefined,
    download: async () => false,
    readManifest: async () => undefined,
  })
}

/** The step table with each token step marked in the plan where it runs (or where its dry-run plan goes). */
export function markTokenSteps(steps: ReadonlyArray<StepDef<Ctx, Deps>>, plan: Plan): Array<StepDef<Ctx, Deps>> {
  return steps.map((step) => {
    if (!(step.name in TOKEN_STEPS)) return step
    const mark = { kind: 'note' as const, text: tokenMark(step.name) }
    return {
      ...step,
      run: async (ctx, deps, task) => {
        plan.add(mark)
        return step.run(ctx, deps, task)
      },
      plan: (ctx, deps) => [mark, ...(step.plan?.(ctx, deps) ?? [])],
    }
  })
}
