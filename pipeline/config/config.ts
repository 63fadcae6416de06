// The configuration's shape (keys as in modelship.yaml) and its defaults layer.
import type { Command } from '../ports/types.js'

export type DeployMode = 'compose' | 'image' | 'github' | 'swarm' | 'none' | 'auto'
export type RegistryKind = 'hf' | 'local'

export interface EnvironmentConfig {
  /** Compose files passed as -f, in order (relative to the workspace). */
  compose: string[]
  /** Files whose build arg is edited; default the last compose file. */
  edit: string[]
  /** .env-style files holding HF_INTENT_MODEL=… */
  env_files: string[]
  /**
   * Passed as `--env-file` to every docker compose command of this environment, in order; used to interpolate when
   * reading.
   */
  env_file: string[]
  /** Docker context names or ssh://user@host[:port] URLs; empty: the current context. */
  hosts: string[]
  /**
   * Per-environment overrides of deploy.verify / model_check / health_timeout_s (null or absent: not
   * overridden; false: none for this environment, whatever deploy.* says).
   */
  verify: Command | false | null | undefined
  model_check: Command | false | null | undefined
  health_timeout_s: number | undefined
  /** deploy.mode github: keys of deploy.github this environment overrides (its own workflow, variable scope …). */
  github: Partial<GithubConfig> | undefined
}

/** deploy.mode github: the app's CI builds and deploys; a release sets its variable and starts its workflow. */
export interface GithubConfig {
  /** `owner/name`; null: from `git remote get-url origin`. */
  repo: string | null
  /** The Actions variable the CI build reads; null: deploy.build_arg. */
  variable: string | null
  /** `repository`, or `environment:<GitHub environment name>`. */
  scope: string
  /** The workflow file name (or id) to start. */
  workflow: string | null
  /** The branch dispatched on (trigger dispatch) or pushed to (trigger push); null: the repo's default branch. */
  ref: string | null
  trigger: 'dispatch' | 'push'
  /** workflow_dispatch inputs. */
  inputs: Record<string, string>
  timeout_s: number
  /** The REST API base URL (GitHub Enterprise Server: https://HOST/api/v3); null: https://api.github.com. */
  api_url: string | null
}

/** The validated configuration (keys as in modelship.yaml). Secrets are not part of it. */
export interface Config {
  workspace: string
  model: {
    org: string
    prefix: string
    labels: string[]
    base_aliases: string[]
    base_model: string
    license: string | null
  }
  /** Allow editing compose/env files that are symlinks to targets outside the workspace. */
  allow_outside_workspace: boolean
  registry: RegistryKind
  /** The local registry's store directory (absolute). */
  registry_dir: string
  /** The Hub endpoint, without a trailing slash. */
  hf_endpoint: string
  feedback: { source: string; query: string | null }
  trainer: {
    command: Command
    args: Record<string, string | number | boolean>
    exclude: string[]
    evaluate: Command | null
  }
  gates: {
    min_accuracy: number
    min_class_f1: number
    no_regression: boolean
    min_per_label: number
    eval_set: string | null
  }
  deploy: {
    mode: DeployMode
    /** image mode: the tag template ({version}, {run}, {sha}). */
    image_tag: string
    /** image mode: the compose variable in the service's `image:` tag. */
    tag_var: string
    /** swarm mode: the stack name (null: the compose project name). */
    stack: string | null
    service: string
    build_arg: string
    health_timeout_s: number
    verify: Command | null
    model_check: Command | null
    github: GithubConfig
  }
  environments: Record<string, EnvironmentConfig>
}

export const DEFAULT_LABELS = [
  'chitchat',
  'theoretical_definition',
  'technical_research',
  'calculator',
  'normative_reference',
]
export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co'

/** The defaults layer, as modelship.yaml would spell it. */
export function defaultConfig(): Record<string, unknown> {
  return {
    model: {
      org: 'pratikoai',
      prefix: 'intent-classifier',
      labels: [...DEFAULT_LABELS],
      base_aliases: ['mdeberta', 'bart'],
      base_model: 'MoritzLaurer/mDeBERTa-v3-base-mnli-xnli',
      license: null,
    },
    registry: 'hf',
    allow_outside_workspace: false,
    registry_dir: '.modelship/registry',
    hf_endpoint: DEFAULT_HF_ENDPOINT,
    feedback: { source: './data/feedback.jsonl', query: null },
    trainer: {
      command: ['python3', 'scripts/train_intent_classifier.py'],
      args: { epochs: 5 },
      exclude: [],
      evaluate: null,
    },
    gates: { min_accuracy: 0.9, min_class_f1: 0.85, no_regression: true, min_per_label: 1, eval_set: null },
    deploy: {
      mode: 'compose',
      image_tag: 'model-{version}',
      tag_var: 'IMAGE_TAG',
      stack: null,
      service: 'app',
      build_arg: 'HF_INTENT_MODEL',
      health_timeout_s: 120,
      verify: null,
      model_check: null,
      github: {
        repo: null,
        variable: null,
        scope: 'repository',
        workflow: null,
        ref: null,
        trigger: 'dispatch',
        inputs: {},
        timeout_s: 3600,
        api_url: null,
      },
    },
    environments: {
      production: {
        compose: ['docker-compose.yml', 'docker-compose.production.yml'],
        edit: ['docker-compose.production.yml'],
      },
      qa: { compose: ['docker-compose.yml', 'docker-compose.qa.yml'] },
    },
  }
}
