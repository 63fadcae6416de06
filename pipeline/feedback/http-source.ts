import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { setTimeout as sleep } from 'node:timers/promises'
import { ModelshipError, messageOf } from '../engine/errors.js'
import type { Redactor } from '../secrets/redact.js'
import { readRecords, type RecordFormat } from './file-source.js'
import { writeDataset } from './dataset-writer.js'
import type { ExportRequest, ExportResult, HttpOptions } from './types.js'

const DEFAULTS: Required<HttpOptions> = {
  connectTimeoutMs: 10_000,
  readTimeoutMs: 60_000,
  attempts: 3,
  retryDelayMs: 1000,
}
const MAX_REDIRECTS = 5
const RETRY_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504])
/** Network errors worth another attempt; others (unknown host, bad certificate) will not go away by retrying. */
const RETRY_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
])

/** A failure of one attempt that may succeed on the next (nothing of it was kept). */
class RetryableError extends Error {}

/**
 * Retries: this keeps its own loop (attempts, doubling delay, retryable statuses and network codes)
 * until the shared HTTP retry helper in pipeline/net/ lands; then it should use that.
 *
 * Downloads the app's labeling export (`GET …/labeling/export?format=jsonl|csv`, Bearer auth) and
 * streams it through the dataset writer. An attempt that fails part-way discards its temp file, so a
 * retry always starts from an empty dataset.
 */
export async function exportFromHttp(req: ExportRequest, identity: string, redact: Redactor): Promise<ExportResult> {
  const opts = { ...DEFAULTS, ...req.http }
  const attempts = Math.max(1, Math.floor(opts.attempts))
  for (let attempt = 1; ; attempt++) {
    try {
      return await exportOnce(req, identity, redact, opts)
    } catch (e) {
      if (req.signal?.aborted) throw new ModelshipError('INTERRUPTED', `export from ${identity} interrupted`)
      if (!(e instanceof RetryableError)) throw e
      if (attempt >= attempts) {
        throw new ModelshipError(
          'STEP_FAILED',
          `${identity}: ${e.message} (gave up after ${attempts} attempt${attempts === 1 ? '' : 's'})`,
        )
      }
      const delay = opts.retryDelayMs * 2 ** (attempt - 1)
      req.onProgress?.(
        `${identity}: ${e.message}; retrying in ${(delay / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${attempts})`,
      )
      await sleep(delay, undefined, { signal: req.signal }).catch(() => undefined)
    }
  }
}

async function exportOnce(
  req: ExportRequest,
  identity: string,
  redact: Redactor,
  opts: Required<HttpOptions>,
): Promise<ExportResult> {
  const url = new URL(req.source)
  const { res, timedOut, token } = await get(url, req.apiToken, opts, req.signal, identity, redact)
  try {
    await checkStatus(res, identity, redact, token)
    const format = formatOf(url, res.headers['content-type'], identity)
    const expected = contentLength(res)
    let received = 0
    async function* body(): AsyncGenerator<Uint8Array> {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        received += chunk.length
        yield chunk
      }
    }
    const writerOpts = {
      source: identity,
      refs: 'row' as const,
      labels: req.labels,
      onProgress: req.onProgress,
      signal: req.signal,
      durable: req.durable,
    }
    return await writeDataset(req.destPath, writerOpts, async (writer) => {
      try {
        await readRecords(format, body(), identity, 'row', writer)
      } catch (e) {
        if (e instanceof ModelshipError) throw e
        // The connection broke (or timed out) mid-body: nothing parsed so far is kept.
        const of = expected === undefined ? '' : ` of ${expected}`
        const why = timedOut() ?? describeNetError(e, redact)
        throw new RetryableError(`the response body was cut off after ${received}${of} bytes (${why})`)
      }
      if (expected !== undefined && received !== expected) {
        throw new RetryableError(`the response body was cut off: got ${received} of ${expected} bytes`)
      }
    })
  } finally {
    res.destroy()
  }
}

/** GET with connect and read timeouts, following redirects (the token only goes to the original origin). */
async function get(
  start: URL,
  token: string | undefined,
  opts: Required<HttpOptions>,
  signal: AbortSignal | undefined,
  identity: string,
  redact: Redactor,
): Promise<Response> {
  let url = start
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = {
      accept: 'application/x-ndjson, text/csv;q=0.9, */*;q=0.1',
      'user-agent': 'modelship',
    }
    const sendToken = token !== undefined && token !== '' && url.origin === start.origin
    if (sendToken) headers.authorization = `Bearer ${token}`
    let response: Response
    try {
      response = await requestOnce(url, headers, opts, signal, !token ? 'none' : sendToken ? 'sent' : 'withheld')
    } catch (e) {
      if (signal?.aborted) throw new ModelshipError('INTERRUPTED', `export from ${identity} interrupted`)
      const code = (e as NodeJS.ErrnoException).code
      const why = describeNetError(e, redact)
      if (e instanceof TimeoutError || (code !== undefined && RETRY_CODES.has(code)))
        throw new RetryableError(`request failed: ${why}`)
      throw new ModelshipError('STEP_FAILED', `${identity}: request failed: ${why}`)
    }
    const { res } = response
    const status = res.statusCode ?? 0
    const location = res.headers.location
    if ([301, 302, 303, 307, 308].includes(status) && location) {
      res.resume()
      if (hop >= MAX_REDIRECTS)
        throw new ModelshipError('STEP_FAILED', `${identity}: more than ${MAX_REDIRECTS} redirects`)
      url = new URL(location, url)
      continue
    }
    return response
  }
}

class TimeoutError extends Error {}

interface Response {
  res: IncomingMessage
  /** Whether this request carried the token; `withheld` after a redirect to another origin. */
  token: 'none' | 'sent' | 'withheld'
  /** Why the connection was cut by our own timeout, if it was (the body then fails with a bare "aborted"). */
  timedOut: () => string | undefined
}

function requestOnce(
  url: URL,
  headers: Record<string, string>,
  opts: Required<HttpOptions>,
  signal: AbortSignal | undefined,
  token: Response['token'],
): Promise<Response> {
  let timeout: string | undefined
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(url, { method: 'GET', headers, agent: false, signal })
    const connectTimer = setTimeout(
      () => req.destroy(new TimeoutError(`no connection within ${opts.connectTimeoutMs} ms`)),
      opts.connectTimeoutMs,
    )
    req.on('socket', (socket) => {
      const connected = (): void => {
        clearTimeout(connectTimer)
        // Idle timeout from here on: waiting for the response head, then between body chunks.
        socket.setTimeout(opts.readTimeoutMs, () => {
          timeout = `no data for ${opts.readTimeoutMs} ms`
          socket.destroy(new TimeoutError(timeout))
        })
      }
      if (socket.connecting) socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', connected)
      else connected()
    })
    req.once('response', (res) => {
      // Errors after this point reach the body reader through `res`.
      res.on('error', () => undefined)
      resolve({ res, token, timedOut: () => timeout })
    })
    req.once('error', (e) => {
      clearTimeout(connectTimer)
      reject(e)
    })
    req.once('close', () => clearTimeout(connectTimer))
    req.end()
  })
}

async function checkStatus(
  res: IncomingMessage,
  identity: string,
  redact: Redactor,
  token: Response['token'],
): Promise<void> {
  const status = res.statusCode ?? 0
  if (status >= 200 && status < 300) return
  const snippet = redact(await readSnippet(res))
  const said = `${status} ${res.statusMessage ?? ''}`.trim()
  const body = snippet ? `: ${snippet}` : ''
  if (status === 401) {
    const why = {
      sent: 'the token was rejected',
      none: 'no token was sent',
      withheld: 'the token was not sent: the URL redirects to another origin',
    }[token]
    throw new ModelshipError('AUTH', `${identity}: the export API answered ${said} — ${why}`, {
      hint: 'set FEEDBACK_API_TOKEN to a valid token of an ADMIN or SUPER_USER account',
    })
  }
  if (status === 403) {
    throw new ModelshipError(
      'AUTH',
      `${identity}: the export API answered ${said} — the token's account may not export labeled data`,
      {
        hint: 'FEEDBACK_API_TOKEN must belong to an ADMIN or SUPER_USER account',
      },
    )
  }
  if (status === 404)
    throw new ModelshipError('BAD_INPUT', `${identity}: nothing labeled to export`, {
      hint: 'label some queries in the QA environment first, or check the URL',
    })
  if (RETRY_STATUSES.has(status)) throw new RetryableError(`the export API answered ${said}${body}`)
  if (status >= 400 && status < 500)
    throw new ModelshipError('CONFIG', `${identity}: the export API answered ${said}${body}`, {
      hint: 'check feedback.source (FEEDBACK_SOURCE)',
    })
  throw new ModelshipError('STEP_FAILED', `${identity}: the export API answered ${said}${body}`)
}

/** The first line or so of an error body, for the message. */
async function readSnippet(res: IncomingMessage): Promise<string> {
  let text = ''
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      text += chunk.toString('utf8')
      if (text.length >= 300) break
    }
  } catch {
    // The body is only decoration for the message.
  }
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 200 ? `${line.slice(0, 199)}…` : line
}

/** `format=` in the URL wins; otherwise the Content-Type says. */
function formatOf(url: URL, contentType: string | undefined, identity: string): RecordFormat {
  const param = url.searchParams.get('format')?.toLowerCase()
  if (param === 'jsonl' || param === 'ndjson') return 'jsonl'
  if (param === 'csv') return 'csv'
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  if (type.endsWith('csv')) return 'csv'
  if (/(ndjson|jsonl|json-lines|jsonlines|json-seq|^application\/json$)/.test(type)) return 'jsonl'
  throw new ModelshipError(
    'BAD_INPUT',
    `${identity}: cannot tell the format of the export (Content-Type ${type || 'missing'})`,
    {
      hint: 'add format=jsonl or format=csv to the URL',
    },
  )
}

function contentLength(res: IncomingMessage): number | undefined {
  const raw = res.headers['content-length']
  if (raw === undefined || res.headers['transfer-encoding'] !== undefined) return undefined
  const n = Number(raw)
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

function describeNetError(e: unknown, redact: Redactor): string {
  const code = (e as NodeJS.ErrnoException).code
  const msg = redact(messageOf(e))
  return code && !msg.includes(code) ? `${msg} (${code})` : msg
}
