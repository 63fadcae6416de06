import type { EditedFile } from '../compose/types.js'
import type { Config } from '../config/config.js'
import { ModelshipError } from '../engine/errors.js'
import type { EngineCtx } from '../engine/step.js'
import type { DatasetReport } from '../feedback/types.js'
import type { GateTable } from '../model/gate-table.js'
import type { EvalSetMetrics, TrainingMetrics } from '../model/metrics.js'
import type { TrainerFlags } from '../model/trainer.js'
import type { PushRecord } from '../registry/types.js'
import type { ReleaseChanges } from './change-types.js'
import type { Version } from '../registry/version.js'
import type { HostDeployment } from '../deploy/deploy-ops.js'
import type { GithubTarget } from '../github/access.js'
import type { CardPictures } from '../pictures/card-pictures.js'

export interface ReleaseOptions {
  bump?: 'major' | 'minor'
  /** Pass the no-regression gate (and release data already released). */
  force: boolean
  /** Stop after the compose update. */
  noDeploy: boolean
  /** What the run is, for the audit log: a release, or a promote/rollback run through the same steps. */
  action?: 'release' | 'promote' | 'rollback'
  /** A plain rollback: recorded as undoing the latest change. */
  undo?: boolean
  /** promote/rollback: the model to point the environment at. */
  target?: string
  /** promote: `--deploy` was asked for explicitly (a missing engine is then an error). */
  deploy?: boolean
  /**
   * promote/rollback in image mode: the tag the target model was published under (from history). The
   * hosts pull it; nothing is built or pushed.
   */
  imageTag?: string
}

/** Outputs steps add to the context; each is persisted in state.json by the step that produced it. */
export interface StepOutputs {
  /** preflight: whether build/deploy/verify apply, and why not. */
  deployTarget: { enabled: boolean; reason?: string }
  /** preflight (deploy.mode github): the repository, variable, workflow and branch, and the variable's value now. */
  githubTarget: GithubTarget
  /** deploy (deploy.mode github): the workflow run that built and deployed the model. */
  workflowRun: { id: number; htmlUrl: string; conclusion: string }
  /** preflight: the model the target environment is configured with now. */
  currentModel: string
  /** preflight: what the trainer's --help says about optional flags. */
  trainerFlags: TrainerFlags
  /** export */
  dataset: { path: string; sha256: string; reportPath: string; report: DatasetReport }
  /** validate */
  validation: { rows: number; perLabel: Record<string, number>; warnings: string[] }
  /** train: `report` is the trainer's classification report as printed; `log` the path of train.log. */
  model: { dir: string; metrics: TrainingMetrics; labels: string[]; report?: string[]; log?: string }
  /** gate */
  gate: {
    passed: true
    baseline?: { modelId: string; accuracy: number }
    forced: boolean
    /** The numbers the gate judged, new beside current, for the summary. */
    table?: GateTable
    /** The new model's scores on gates.eval_set, when one was used. */
    evalSet?: EvalSetMetrics
  }
  /** version */
  release: { modelId: string; version?: Version; bump?: 'major' | 'minor'; reason: string }
  /** push */
  pushed: PushRecord
  /** push: what the model card's pictures show (matrix, F1 per class, trend), for the CI summary. */
  pictures: CardPictures
  /** compose */
  composeEdit: { previousModel: string; files: EditedFile[]; diff: string }
  /** build (image mode: the tag, and `built: false` when the tag was in the registry already) */
  image: { model: string; imageId?: string; tag?: string; ref?: string; built?: boolean }
  /** publish (image mode) */
  published: { tag: string; ref?: string }
  /** deploy: how far it got (the failure policy rolls back the touched hosts) */
  rollout: { previousTags: Record<string, string | null>; touched: string[] }
  /** deploy: what runs on each host, in order (the first is the canary); the other fields are the first host's */
  deployment: { health: string; containerId?: string; imageId?: string; tag?: string; hosts?: HostDeployment[] }
  /** deploy (swarm mode): the stack, its swarm service and the tag Swarm runs */
  swarm: { stack: string; service: string; tag: string }
  /** verify */
  verification: { commands: string[] }
  /** record (a release): what changed since the environment's current model. */
  changes: ReleaseChanges
}

/** The typed, growing context of one release (or promote) run. */
export interface Ctx extends EngineCtx, Partial<StepOutputs> {
  readonly config: Config
  readonly options: ReleaseOptions
  /**
   * When the run started (ISO); fixed for the run so regenerated artefacts (the model card) stay identical on resume.
   */
  readonly startedAt: string
  /** preflight → train: a trainer --help read this run, cached once the run does real work (never saved in state). */
  trainerHelp?: { path: string; help: string }
}

/** Reads a step output that an earlier step must have produced; a missing one is a typed error, never `undefined`. */
export function need<K extends keyof StepOutputs>(ctx: Ctx, key: K): StepOutputs[K] {
  const value = ctx[key]
  if (value === undefined) {
    throw new ModelshipError(
      'MISSING_OUTPUT',
      `missing step output '${key}': the step that produces it has not completed in this run`,
    )
  }
  return value as StepOutputs[K]
}
