import { ModelshipError, messageOf } from '../engine/errors.js'
import { createRedactor, type Redactor } from '../secrets/redact.js'
import type { ExportRequest, ExportResult } from './types.js'

export type {
  DatasetReport,
  DropReason,
  ExportRequest,
  ExportResult,
  HttpOptions,
  RowProblem,
  RowRef,
} from './types.js'
export { closestLabel } from './problems.js'
export { assertValidDataset, validateDataset, type DatasetRules, type DatasetValidation } from './validate.js'

export type SourceKind = 'file' | 'http' | 'postgres'

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i
/** Query parameters whose values are credentials and never shown. */
const SECRET_PARAMS = /^(token|access_token|api_key|apikey|key|password|secret|sig|signature|auth)$/i

/** Which kind of source `source` names: an http(s) URL, a postgres:// URL, or else a file path. */
export function sourceKind(source: string): SourceKind {
  const scheme = SCHEME.exec(source)?.[1]?.toLowerCase()
  if (scheme === 'http' || scheme === 'https') return 'http'
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres'
  return 'file'
}

/**
 * A secret-free name for the source, for messages, reports and recorded step inputs: URLs lose
 * user:password (and credential-like query parameters); a postgres URL becomes `postgres://host[:port]/db`;
 * a file path is kept as it is.
 */
export function sourceIdentity(source: string): string {
  const kind = sourceKind(source)
  if (kind === 'file') return source
  let url: URL
  try {
    url = new URL(source)
  } catch {
    return createRedactor()(source).replace(/\?.*$/s, '')
  }
  if (kind === 'postgres') {
    // Unix-socket URLs carry the host as ?host=/run/postgresql.
    const host = url.hostname ? decodeURIComponent(url.hostname) : (url.searchParams.get('host') ?? 'localhost')
    const port = url.port ? `:${url.port}` : ''
    return `postgres://${host}${port}${url.pathname === '/' ? '' : url.pathname}`
  }
  url.username = ''
  url.password = ''
  url.hash = ''
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_PARAMS.test(name)) url.searchParams.set(name, '***')
  }
  return url.toString()
}

/**
 * What exporting from `source` would do, in one secret-free line, without doing it: for dry-run, where
 * an http(s) export must not be called (the app stamps the rows it returns as exported). File and
 * PostgreSQL sources only read, so dry-run may still export them.
 */
export function describeFeedbackSource(
  source: string,
  opts: { apiToken?: string; query?: string | null } = {},
): string {
  const identity = sourceIdentity(source)
  switch (sourceKind(source)) {
    case 'http':
      return (
        `would GET ${identity}${opts.apiToken ? ' with the FEEDBACK_API_TOKEN bearer token' : ' without a token'}` +
        ' (not fetched in a dry run: the export marks rows as exported)'
      )
    case 'postgres':
      return (
        `would read ${opts.query ? 'feedback.query' : 'labeled_queries'} from ${identity} in a READ ONLY ` +
        `transaction`
      )
    case 'file':
      return `would read ${identity}`
  }
}

/**
 * Exports labeled feedback from `req.source` to a normalized dataset.jsonl at `req.destPath`
 * (`{"text","label"}` per line: trimmed, empty texts and exact duplicates dropped), written
 * atomically: on failure nothing is left at destPath and an existing file there is untouched.
 * Errors are ModelshipErrors whose messages never contain the API token or a database password.
 */
export async function exportFeedback(req: ExportRequest): Promise<ExportResult> {
  const redact = createRedactor([req.apiToken, ...passwordsOf(req.source)])
  const identity = sourceIdentity(req.source)
  try {
    const scheme = SCHEME.exec(req.source)?.[1]
    const kind = sourceKind(req.source)
    if (scheme && kind === 'file') {
      throw new ModelshipError(
        'CONFIG',
        `feedback.source ${identity}: unsupported scheme ${scheme}:// (expected a .jsonl/.csv path, an http(s) ` +
          `export URL or a postgres:// URL)`,
      )
    }
    // Each source is imported only when used: pg and pg-copy-streams cost ~40 ms to import.
    switch (kind) {
      case 'file':
        return await (await import('./file-source.js')).exportFromFile(req, identity)
      case 'http':
        return await (await import('./http-source.js')).exportFromHttp(req, identity, redact)
      case 'postgres':
        return await (await import('./postgres-source.js')).exportFromPostgres(req, identity, redact)
    }
  } catch (e) {
    throw sanitize(e, redact)
  }
}

/** The password in a URL source, as written (percent-encoded) and decoded; the URL itself is no secret. */
function passwordsOf(source: string): string[] {
  if (sourceKind(source) === 'file') return []
  try {
    const { password } = new URL(source)
    return password ? [password, safeDecode(password)] : []
  } catch {
    return []
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** Re-creates the error with every text redacted and without the driver's cause object (it may hold the URL). */
function sanitize(e: unknown, redact: Redactor): ModelshipError {
  if (e instanceof ModelshipError) {
    return new ModelshipError(e.code, redact(e.message), {
      hint: e.hint === undefined ? undefined : redact(e.hint),
      details: e.details === undefined ? undefined : redact(e.details),
    })
  }
  return new ModelshipError('STEP_FAILED', `export failed: ${redact(messageOf(e))}`)
}
