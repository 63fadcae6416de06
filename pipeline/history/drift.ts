import { recordedModelOf, runningModelOf, type HistoryEntry } from './audit-log.js'

/** Files against history for one environment. */
export interface Drift {
  env: string
  /** What the compose/env files name now. */
  configured: string | null
  /** What the newest successful change in the history set the files to. */
  recorded: string | null
  /** What runs per the newest redeploy in the history (null: none recorded). */
  running: string | null
  /** One line per disagreement; empty when files and history agree. */
  warnings: string[]
}

/**
 * Compares what the files name with what the audit log says: files restored by `git checkout` (or
 * edited by hand) disagree with the last recorded change; a release that was not deployed leaves the
 * files ahead of what runs. Pure; `modelship current` prints the warnings.
 */
export function driftOf(env: string, configured: string | null | undefined, entries: readonly HistoryEntry[]): Drift {
  const recorded = recordedModelOf(entries, env)
  const running = runningModelOf(entries, env)
  const files = configured ?? null
  const warnings: string[] = []
  if (recorded && recorded.model !== files) {
    warnings.push(
      `${env}: the files name ${files ?? 'no model'} but the history's last change ` +
        `(${recorded.at}${recorded.runId ? `, run ${recorded.runId}` : ''}) set ${recorded.model}: ` +
        'the files were changed outside modelship',
    )
  }
  if (running && running.model !== files) {
    warnings.push(
      `${env}: ${running.model} is running (deployed ${running.at}) but the files name ${files ?? 'no model'}; ` +
        `\`modelship promote ${files ?? '<model>'} --env ${env} --deploy\` runs what the files name`,
    )
  }
  return { env, configured: files, recorded: recorded?.model ?? null, running: running?.model ?? null, warnings }
}
