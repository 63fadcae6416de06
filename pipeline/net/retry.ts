import pRetry, { AbortError } from 'p-retry'
import { setTimeout as sleep } from 'node:timers/promises'
import { ModelshipError } from '../engine/errors.js'

/** How one HTTP call is retried: network errors, 429 and 5xx, with exponential backoff. */
export interface RetryPolicy {
  /** Retries after the first attempt (default 3). */
  retries?: number
  /** First backoff delay; doubles on each retry (default 500 ms). */
  backoffMs?: number
  /** Longest wait a server's Retry-After may impose (default 60 s). */
  maxRetryAfterMs?: number
  log?: (line: string) => void
}

/** One call to retry: what it is (for log lines, never a URL's query) and the host it talks to. */
export interface RetryCall {
  what: string
  host: string
  signal?: AbortSignal | undefined
}

/**
 * A host that never answered: its name does not resolve or it refuses connections at the first
 * contact. Retrying cannot help and `--resume` would not either, so it is bad configuration (exit 2).
 */
export class UnreachableHostError extends ModelshipError {
  constructor(
    readonly host: string,
    readonly reason: string,
    cause: unknown,
  ) {
    super('CONFIG', `host ${host} is unreachable (${reason})`, {
      hint: 'check the host name (HF_ENDPOINT) and the network; nothing was changed',
      cause,
    })
  }
}

/** An HTTP answer worth retrying (429, 5xx); carries the response for the last attempt. */
class RetryableStatus extends Error {
  constructor(
    readonly response: Response,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${response.status}`)
  }
}

const NEVER_ANSWERED = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED'])

/** The system error code of a failed request (undici nests it in `cause`). */
export function networkCode(e: unknown): string | undefined {
  let cur: unknown = e
  for (let depth = 0; depth < 4 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code
    if (typeof code === 'string' && code !== 'ABORT_ERR') return code
    cur = (cur as { cause?: unknown }).cause
  }
  return undefined
}

export function isAbortError(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || (e as { code?: unknown }).code === 'ABORT_ERR')
}

export function retryableStatus(status: number): boolean {
  return status === 429 || status >= 500
}

/**
 * The one retry helper for every HTTP call modelship makes. It remembers which hosts have answered:
 * a DNS failure or refused connection before a host ever answered is reported at once as
 * UnreachableHostError; later network failures are transient and retried with backoff.
 */
export interface Retrier {
  readonly retries: number
  /** Runs `attempt` until it succeeds, retrying network errors (thrown) with backoff. */
  run<T>(call: RetryCall, attempt: (n: number) => Promise<T>): Promise<T>
  /** Like run, for calls that answer a Response: 429 and 5xx are retried too, and the last one is returned. */
  runHttp(call: RetryCall, attempt: (n: number) => Promise<Response>): Promise<Response>
  /** A fetch that retries through runHttp (what @huggingface/hub is given). */
  wrapFetch(base: typeof fetch): typeof fetch
}

export function createRetrier(policy: RetryPolicy = {}): Retrier {
  const retries = policy.retries ?? 3
  const backoffMs = policy.backoffMs ?? 500
  const maxRetryAfterMs = policy.maxRetryAfterMs ?? 60_000
  const log = policy.log ?? (() => {})
  const answered = new Set<string>()

  async function run<T>(call: RetryCall, attempt: (n: number) => Promise<T>): Promise<T> {
    let lastDelay = backoffMs
    return pRetry(
      async (n) => {
        call.signal?.throwIfAborted()
        try {
          const result = await attempt(n)
          answered.add(call.host)
          return result
        } catch (e) {
          if (e instanceof RetryableStatus) answered.add(call.host)
          if (call.signal?.aborted || isAbortError(e)) throw new AbortError(e as Error)
          const code = networkCode(e)
          if (code && NEVER_ANSWERED.has(code) && !answered.has(call.host)) {
            throw new AbortError(new UnreachableHostError(call.host, code, e))
          }
          if (e instanceof ModelshipError) throw new AbortError(e)
          throw e
        }
      },
      {
        retries,
        factor: 2,
        minTimeout: backoffMs,
        maxTimeout: Math.max(backoffMs, 30_000),
        randomize: false,
        ...(call.signal ? { signal: call.signal } : {}),
        onFailedAttempt: async (e) => {
          if (e.retriesLeft <= 0) return
          const retry = `retry ${e.attemptNumber}/${retries}`
          lastDelay = backoffMs * 2 ** (e.attemptNumber - 1)
          if (e instanceof RetryableStatus) {
            const extra = Math.min(e.retryAfterMs ?? 0, maxRetryAfterMs)
            log(`${call.what} answered ${e.response.status}; ${retry} in ${Math.max(extra, lastDelay)} ms`)
            // Retry-After replaces the backoff when longer (p-retry waits the backoff after this).
            if (extra > lastDelay)
              await sleep(extra - lastDelay, undefined, call.signal ? { signal: call.signal } : undefined)
          } else {
            log(`${call.what} failed (${networkCode(e) ?? firstLine(e)}); ${retry} in ${lastDelay} ms`)
          }
        },
      },
    )
  }

  async function runHttp(call: RetryCall, attempt: (n: number) => Promise<Response>): Promise<Response> {
    try {
      return await run(call, async (n) => {
        const res = await attempt(n)
        if (retryableStatus(res.status) && n <= retries) {
          await res.body?.cancel().catch(() => {})
          throw new RetryableStatus(res, retryAfterMs(res))
        }
        return res
      })
    } catch (e) {
      // Cannot happen (the last attempt returns the response), but keep the answer if it does.
      if (e instanceof RetryableStatus) return e.response
      throw e
    }
  }

  function wrapFetch(base: typeof fetch): typeof fetch {
    const wrapped = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET')
      // Never the query: signed upload URLs carry their signature there.
      const call = { what: `${method} ${url.pathname}`, host: url.host, signal: init?.signal ?? undefined }
      return runHttp(call, () => base(input, init))
    }
    return wrapped as typeof fetch
  }

  return { retries, run, runHttp, wrapFetch }
}

function retryAfterMs(res: Response): number | undefined {
  const seconds = Number(res.headers.get('Retry-After'))
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined
}

function firstLine(e: unknown): string {
  const cause = (e as { cause?: unknown } | undefined)?.cause
  const text = cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e)
  return (text.split('\n')[0] ?? '').slice(0, 200)
}
