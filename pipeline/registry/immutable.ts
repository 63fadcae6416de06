import { ModelshipError } from '../engine/errors.js'
import type { PushRequest } from './types.js'

/** The commit a registry holds for a model version: what the immutability rule looks at. */
export interface ExistingCommit {
  commit: string
  /** The commit message's first line (HF: the commit title; local: the push's commitMessage). */
  title: string
  /** ISO date of the commit, when known. */
  date?: string | undefined
}

// What a release commits with: `modelship: <org>/<name> (run <runId>)` (tasks/push-model.ts).
const RUN_MESSAGE = /^modelship: (\S+) \(run ([^)\s]+)\)$/

/** The run id a commit message names, when it is a release's commit. */
export function runOfMessage(message: string): string | undefined {
  return RUN_MESSAGE.exec(message.trim())?.[2]
}

/**
 * Versions are immutable: a push may replace what a registry holds for `req.modelId` only when that
 * is this same run's own earlier attempt — the commit `req.replaces` recorded, or a commit whose
 * message names this run (`modelship: <id> (run <runId>)`, a retry after a crash before the record).
 * Anything else is refused before a byte is uploaded, naming who released it and when.
 */
export function assertMayReplace(
  req: Pick<PushRequest, 'modelId' | 'commitMessage' | 'replaces'>,
  existing: ExistingCommit,
  where: string,
): void {
  if (req.replaces?.modelId === req.modelId && req.replaces.commit === existing.commit) return
  const ours = runOfMessage(req.commitMessage)
  const theirs = runOfMessage(existing.title)
  if (ours !== undefined && theirs === ours) return
  const when = existing.date ? ` on ${existing.date}` : ''
  const by = theirs !== undefined ? `run ${theirs}` : `"${existing.title.slice(0, 80)}"`
  throw new ModelshipError(
    'BAD_INPUT',
    `${req.modelId} already holds a model in ${where}, released by ${by}${when} (commit ` +
      `${existing.commit.slice(0, 12)}): ` +
      'versions are immutable, nothing was uploaded',
    {
      hint:
        ours !== undefined
          ? `start a new run (\`modelship release\` without --resume) to release under the next version; ` +
            `\`modelship runs abandon ${ours}\` stops this one from being resumed`
          : 'push under the next version instead',
    },
  )
}
