import { isAbsolute, join } from 'node:path'
import { ModelshipError } from '../engine/errors.js'
import type { Config } from './config.js'

/**
 * Where the feedback comes from: a path resolved in the workspace, or a URL (DATABASE_URL when the source says
 * `database` or `$DATABASE_URL`).
 */
export function resolveFeedbackSource(config: Config, databaseUrl: string | undefined): string {
  const source = config.feedback.source
  if (source === 'database' || source === 'postgres' || source === '$DATABASE_URL' || source === '${DATABASE_URL}') {
    if (!databaseUrl) throw new ModelshipError('CONFIG', `feedback.source is ${source} but DATABASE_URL is not set`)
    return databaseUrl
  }
  if (/^(https?|postgres(ql)?):\/\//i.test(source)) return source
  return isAbsolute(source) ? source : join(config.workspace, source)
}
