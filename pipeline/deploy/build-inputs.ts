import { join } from 'node:path'
import type { Config } from '../config/config.js'
import { DEFAULT_HF_ENDPOINT } from '../config/config.js'
import { type ComposeText, serviceBuildOf } from '../doctor/compose-service.js'
import { MODEL_FILES_ARG, receivesModelFiles } from '../doctor/dockerfile.js'
import { readTextIfAny } from '../fs-atomic.js'
import type { DeploySettings } from './settings.js'

// What an image build needs besides `--build-arg <build_arg>=<model>` to get the model into the image, whatever
// the registry: with the Hub, the endpoint (reachable from the build) and the token (as a secret); with the local
// registry, the version's files, handed in as an image the Dockerfile builds a stage from (no network at all).
// The app's own files are never changed: the extras travel as build args and a compose override in the run dir.

/** The compose file modelship writes into the run directory for one build and passes after the user's files. */
export const BUILD_OVERRIDE_FILE = 'compose.modelship-build.yml'

export interface BuildInputs {
  /** Extra `--build-arg`s, in order (HF_ENDPOINT; the model files image). */
  buildArgs: Record<string, string>
  /** The build mounts the `hf_token` secret (HF_TOKEN is set). */
  secret: boolean
  /** The Hub endpoint is a loopback address: the build runs on the host network to reach it. */
  hostNetwork: boolean
  /** registry local: the image holding the model's files at `/`, built from `dir` before the service. */
  modelFiles?: { image: string; dir: string; dockerfile: string }
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i

export function isLoopbackUrl(url: string): boolean {
  try {
    return LOOPBACK.test(new URL(url).hostname)
  } catch {
    return false
  }
}

/** `pratikoai/intent-classifier-v1.0` → `modelship-model-files:pratikoai-intent-classifier-v1.0` (a valid tag). */
export function modelFilesImageOf(modelId: string): string {
  const tag = modelId
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128)
  return `modelship-model-files:${tag || 'model'}`
}

/** The service's Dockerfile text in this environment (as compose merges its files), if it can be read. */
export function serviceDockerfileOf(config: Config, s: DeploySettings): string | undefined {
  const files: ComposeText[] = []
  for (const path of s.files) {
    const text = readTextIfAny(join(config.workspace, path))
    if (text !== undefined) files.push({ path, text })
  }
  const build = serviceBuildOf(files, s.service)
  return build?.dockerfile === undefined ? undefined : readTextIfAny(join(config.workspace, build.dockerfile))
}

/**
 * The build inputs of `modelId` in an environment. `runDir` is where the model files and the override go
 * (`<run-dir>` in plans). A base alias (`mdeberta`) needs no files; a Dockerfile without
 * `ARG MODELSHIP_MODEL_FILES` gets none either (doctor says what to add).
 */
export function buildInputsOf(
  config: Config,
  s: DeploySettings,
  o: { modelId: string; secret: boolean; runDir: string },
): BuildInputs {
  const buildArgs: Record<string, string> = {}
  let hostNetwork = false
  let modelFiles: BuildInputs['modelFiles']
  const alias = config.model.base_aliases.includes(o.modelId)
  if (config.registry === 'hf') {
    if (config.hf_endpoint !== DEFAULT_HF_ENDPOINT) buildArgs.HF_ENDPOINT = config.hf_endpoint
    hostNetwork = !alias && isLoopbackUrl(config.hf_endpoint)
  } else if (!alias) {
    const dockerfile = serviceDockerfileOf(config, s)
    if (dockerfile !== undefined && receivesModelFiles(dockerfile)) {
      const image = modelFilesImageOf(o.modelId)
      const name = image.slice(image.indexOf(':') + 1)
      modelFiles = {
        image,
        dir: join(o.runDir, 'model-files', name),
        dockerfile: join(o.runDir, 'model-files', `${name}.Dockerfile`),
      }
      buildArgs[MODEL_FILES_ARG] = image
    }
  }
  return { buildArgs, secret: o.secret, hostNetwork, ...(modelFiles ? { modelFiles } : {}) }
}

/** The model files image: nothing but the files, at `/`. */
export const MODEL_FILES_DOCKERFILE = 'FROM scratch\nCOPY . /\n'

/** Does this build need the override file (a secret to mount, a network to use)? */
export const needsBuildOverride = (i: BuildInputs): boolean => i.secret || i.hostNetwork
