import { ModelshipError } from '../engine/errors.js'
import { compareVersions, versionOfRepo } from '../registry/version.js'
import { previousModelOf, type HistoryEntry } from './audit-log.js'

/**
 * Where a plain `rollback` (no --to) goes, checked against the files. "From" is what the files name
 * (they are what a deploy builds), the target the history's previous model. When the two disagree
 * (files restored by `git checkout`), going to the history's target could move the environment
 * forward or nowhere: that is refused (exit 2) and `--to` names the model explicitly.
 */
export function rollbackTargetOf(o: {
  entries: readonly HistoryEntry[]
  env: string
  /** The model the environment's files name now. */
  filesModel: string | undefined
  org: string
  prefix: string
  /** Base models (`mdeberta`): older than any fine-tuned version. */
  baseAliases: readonly string[]
}): { from: string | undefined; to: string } {
  const previous = previousModelOf(o.entries, o.env)
  if (!previous) {
    throw new ModelshipError('USAGE', `rollback: the history of ${o.env} has no earlier model to go back to`, {
      hint: 'name one with --to MODEL_ID',
    })
  }
  const from = o.filesModel
  const target = previous.from
  const hint =
    `\`modelship rollback --env ${o.env} --to ${target}\` goes there anyway; ` +
    `\`modelship history --env ${o.env}\` shows the changes`
  if (from === target) {
    throw new ModelshipError(
      'USAGE',
      `rollback: the files of ${o.env} already name ${target}, the model before ${previous.to} in the history; ` +
        'nothing to roll back',
      { hint },
    )
  }
  const fromVersion = from === undefined ? undefined : versionOfRepo(from, o.prefix, o.org)
  const toVersion = versionOfRepo(target, o.prefix, o.org)
  const fromIsBase = from !== undefined && o.baseAliases.includes(from)
  if (toVersion && ((fromVersion && compareVersions(toVersion, fromVersion) > 0) || fromIsBase)) {
    throw new ModelshipError(
      'USAGE',
      `rollback: the files of ${o.env} name ${from}, older than ${target} ` +
        `(the model before ${previous.to} in the history); rolling back would move ${o.env} forward`,
      { hint },
    )
  }
  return { from, to: target }
}
