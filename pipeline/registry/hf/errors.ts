import { HubApiError } from '@huggingface/hub'
import { ModelshipError, type ErrorCode } from '../../engine/errors.js'
import { isAbortError, networkCode, UnreachableHostError } from '../../net/index.js'
import type { Redactor } from '../../secrets/redact.js'

/** What a failed Hub call was doing, for a one-line message. */
export interface FailureContext {
  action: string
  subject: string | undefined
  endpoint: string
  org: string
  retries: number
  redact: Redactor
  signal?: AbortSignal | undefined
}

export function statusOf(e: unknown): number | undefined {
  return e instanceof HubApiError ? e.statusCode : undefined
}

function messageLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e)
  return (text.split('\n')[0] ?? '').slice(0, 200)
}

// Why a request failed below HTTP: the system error code, else undici's reason ("fetch failed" says nothing).
function reasonOf(e: unknown): string {
  const cause = (e as { cause?: unknown } | undefined)?.cause
  return networkCode(e) ?? (cause instanceof Error ? messageLine(cause) : messageLine(e))
}

// The server's own explanation, one line, without URLs (which may be signed).
function serverMessage(e: HubApiError): string {
  const data = e.data as { error?: unknown; message?: unknown } | undefined
  const raw = typeof data?.error === 'string' ? data.error : typeof data?.message === 'string' ? data.message : ''
  return raw
    .replace(/\s+/g, ' ')
    .replace(/https?:\/\/\S+/g, '<url>')
    .trim()
    .slice(0, 200)
}

function isNetworkFailure(e: unknown): boolean {
  if (e instanceof TypeError && /fetch failed|network|socket|terminated/i.test(e.message)) return true
  return networkCode(e) !== undefined && !(e instanceof HubApiError)
}

/** Maps anything a Hub call threw to a ModelshipError with a code, a one-line message and no secret. */
export function toModelshipError(e: unknown, c: FailureContext): ModelshipError {
  const what = c.subject ? `${c.action} ${c.subject}` : `${c.action} ${c.endpoint}`
  const make = (code: ErrorCode, message: string, hint?: string) =>
    new ModelshipError(code, c.redact(message), { ...(hint ? { hint: c.redact(hint) } : {}), cause: e })
  if (c.signal?.aborted || isAbortError(e)) return make('INTERRUPTED', `interrupted while ${what}`)
  if (e instanceof UnreachableHostError) {
    return make('CONFIG', `host ${e.host} is unreachable (${e.reason}) while ${what}`, e.hint)
  }
  if (e instanceof ModelshipError) return e
  const afterRetries = c.retries > 0 ? `, after ${c.retries} retries` : ''
  if (!(e instanceof HubApiError)) {
    if (isNetworkFailure(e)) {
      return make(
        'STEP_FAILED',
        `lost the connection to the Hugging Face Hub at ${c.endpoint} while ${what} (${reasonOf(e)}${afterRetries})`,
        'check the network, then run again with --resume; files already uploaded are not sent again',
      )
    }
    return make('STEP_FAILED', `${what} failed: ${messageLine(e)}`)
  }
  const status = e.statusCode
  const said = serverMessage(e)
  const detail = said ? `${status}: ${said}` : `${status}`
  const repo = c.subject ?? c.org
  const tokens = `${c.endpoint}/settings/tokens`
  switch (true) {
    case status === 401:
      return make(
        'AUTH',
        `the Hub at ${c.endpoint} rejected HF_TOKEN (${detail}) while ${what}`,
        `create a new token with write access to ${c.org} at ${tokens} and set HF_TOKEN`,
      )
    case status === 403:
      return make(
        'AUTH',
        `HF_TOKEN is not allowed to do this (${detail}) while ${what}`,
        `use a token with write access to ${c.org}`,
      )
    case status === 404 && c.subject !== undefined:
      return make(
        'CONFIG',
        `${repo} was not found on ${c.endpoint} (${detail}) while ${what}`,
        `check HF_ORG, HF_REPO_PREFIX and HF_ENDPOINT, and that HF_TOKEN can see ${repo}`,
      )
    case status === 404:
      return make(
        'CONFIG',
        `${c.endpoint} answered 404 while ${what}: it does not look like a Hugging Face Hub`,
        'check HF_ENDPOINT (the Hub base URL, e.g. https://huggingface.co)',
      )
    case status === 409 || status === 412:
      return make(
        'STEP_FAILED',
        `${repo} changed on the Hub while ${what} (${detail})`,
        'check nobody else is pushing to it, then run again with --resume',
      )
    case status === 429:
      return make(
        'STEP_FAILED',
        `the Hub is rate-limiting us (${detail}) while ${what}${afterRetries}`,
        'wait a few minutes, then run again with --resume',
      )
    case status >= 500:
      return make(
        'STEP_FAILED',
        `the Hub failed (${detail}) while ${what}${afterRetries}`,
        'run again with --resume; uploaded files are kept and not sent twice',
      )
    default:
      return make('STEP_FAILED', `the Hub refused ${what} (${detail})`)
  }
}
