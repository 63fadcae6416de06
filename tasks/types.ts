import type { ListrTask } from 'listr2'
import type { Ctx } from '../pipeline/context.js'
import type { Deps } from '../pipeline/deps.js'

/** Every step file exports one of these: a factory closing over the ports. */
export type StepFactory = (deps: Deps) => ListrTask<Ctx>
