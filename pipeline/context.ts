import type { Config } from './config.js'
import { ModelshipError } from './errors.js'
import type { DatasetReport } from './feedback/types.js'
import type { TrainingMetrics } from './metrics.js'
import type { PushRecord } from './registry/types.js'
import type { Version } from './registry/version.js'

/** The release steps in order; names are stable (CONTRACT.md): `--from` and state.json use them. */
export const STEP_NAMES = ['preflight', 'export', 'validate', 'train', 'gate', 'version', 'push', 'compose', 'build', 'deploy', 'verify', 'record'] as const
export type StepName = (typeof STEP_NAMES)[number]

export function isStepName(name: string): name is StepName {
  return (STEP_NAMES as readonly string[]).includes(name)
}

export interface ReleaseOptions {
  bump?: 'major' | 'minor'
  /** Pass the no-regression gate. */
  force: boolean
  /** Stop after the compose update. */
  noDeploy: boolean
}

/** A file edited by the compose step, with the backup that restores it byte-identical. */
export interface EditedFile {
  path: string
  /** The original bytes, kept in the run directory. */
  backup: string
  beforeSha256: string
  afterSha256: string
  changed: boolean
}

/** Outputs steps add to the context; each is persisted in state.json by the step that produced it. */
export interface StepOutputs {
  /** preflight: whether build/deploy/verify apply, and why not. */
  deployTarget: { enabled: boolean; reason?: string }
  /** preflight: the model the target environment is configured with now. */
  currentModel: string
  /** export */
  dataset: { path: string; sha256: string; reportPath: string; report: DatasetReport }
  /** validate */
  validation: { rows: number; perLabel: Record<string, number>; warnings: string[] }
  /** train */
  model: { dir: string; metrics: TrainingMetrics; labels: string[] }
  /** gate */
  gate: { passed: true; baseline?: { modelId: string; accuracy: number }; forced: boolean }
  /** version */
  release: { version: Version; modelId: string; bump: 'major' | 'minor'; reason: string }
  /** push */
  pushed: PushRecord
  /** compose */
  composeEdit: { previousModel: string; files: EditedFile[]; diff: string }
  /** build */
  image: { model: string; imageId?: string }
  /** deploy */
  deployment: { health: string; containerId?: string; imageId?: string }
  /** verify */
  verification: { commands: string[] }
}

/** The typed, growing context of one release run. */
export interface Ctx extends Partial<StepOutputs> {
  readonly config: Config
  readonly dryRun: boolean
  readonly runId: string
  /** Where this run's dataset, model and backups live (a temp dir in dry-run). */
  readonly runDir: string
  readonly envName: string
  readonly options: ReleaseOptions
  /** Lines of the dry-run plan, in order. */
  readonly plan: string[]
  /** When the run started (ISO); fixed for the run so regenerated artefacts (the model card) stay identical on resume. */
  readonly startedAt: string
  /** Aborted on Ctrl-C: long in-process work (uploads, exports) stops with it. */
  readonly signal: AbortSignal
}

/** Reads a step output that an earlier step must have produced; a missing one is a typed error, never `undefined`. */
export function need<K extends keyof StepOutputs>(ctx: Ctx, key: K): StepOutputs[K] {
  const value = ctx[key]
  if (value === undefined) {
    throw new ModelshipError('MISSING_OUTPUT', `missing step output '${key}': the step that produces it has not completed in this run`)
  }
  return value as StepOutputs[K]
}
