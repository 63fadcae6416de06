import { ModelshipError } from '../engine/errors.js'
import type { Deps } from '../ports/deps.js'
import type { Config } from '../config/config.js'
import { formatVersion, type Version, versionOfRepo } from '../registry/version.js'
import { renderImageTag } from './image-tag.js'

/** The version a model's tag is named after: the release's, else the one in its id (`…-v1.3`). */
export function versionOfModel(config: Config, modelId: string, version?: Version): string | undefined {
  const v = version ?? versionOfRepo(modelId, config.model.prefix, config.model.org)
  return v ? formatVersion(v) : undefined
}

function noVersion(modelId: string): ModelshipError {
  return new ModelshipError('CONFIG', `deploy.image_tag: ${modelId} has no version to name its image tag after`, {
    hint: 'deploy a model released by modelship, or one recorded in history with its tag',
  })
}

/**
 * The image tag of this run in image mode: `deploy.image_tag` rendered with the model's version, the run
 * id, and `git rev-parse --short HEAD` of the workspace (asked only when the template uses `{sha}`).
 */
export async function imageTagForRun(
  deps: Deps,
  o: { modelId: string; version?: Version; runId: string },
): Promise<string> {
  const template = deps.config.deploy.image_tag
  const version = versionOfModel(deps.config, o.modelId, o.version)
  if (!version) throw noVersion(o.modelId)
  let sha: string | undefined
  if (template.includes('{sha}')) {
    try {
      sha = (await deps.sh.read(['git', 'rev-parse', '--short', 'HEAD'])).trim() || undefined
    } catch {
      sha = undefined // not a git repository: renderImageTag names the problem
    }
  }
  return renderImageTag(template, { version, run: o.runId, ...(sha ? { sha } : {}) })
}

/** The same tag for a dry-run plan, which cannot run git: `{sha}` stays a placeholder. */
export function imageTagForPlan(config: Config, o: { modelId: string; version?: Version; runId: string }): string {
  const version = versionOfModel(config, o.modelId, o.version) ?? '<version>'
  return config.deploy.image_tag
    .replaceAll('{version}', version)
    .replaceAll('{run}', o.runId)
    .replaceAll('{sha}', '<git-sha>')
}
