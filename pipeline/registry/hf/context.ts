import type { ModelshipError } from '../../engine/errors.js'
import type { Retrier } from '../../net/index.js'
import type { Redactor } from '../../secrets/redact.js'
import { toModelshipError } from './errors.js'
import { requireToken } from './token.js'

/** What every Hub job of the registry shares: where, who, how to retry, how to fail. */
export interface HubContext {
  endpoint: string
  org: string
  prefix: string
  log: (line: string) => void
  redact: Redactor
  retrier: Retrier
  /** The caller's fetch (or the global one), without retries: for wrapping. */
  baseFetch: typeof fetch
  /** The caller's fetch with retries: what library calls get. */
  fetch: typeof fetch
  /** The token, or the AUTH error naming the access needed; nothing is sent without one. */
  token(access: 'read' | 'write'): string
  /** Arguments every library call takes. */
  common(access: 'read' | 'write'): { hubUrl: string; accessToken: string; fetch: typeof fetch }
  fail(e: unknown, action: string, subject?: string, signal?: AbortSignal): ModelshipError
}

export function createHubContext(o: {
  endpoint: string
  org: string
  prefix: string
  token: string | undefined
  log: (line: string) => void
  redact: Redactor
  retrier: Retrier
  baseFetch: typeof fetch
}): HubContext {
  const fetch = o.retrier.wrapFetch(o.baseFetch)
  const token = (access: 'read' | 'write') => requireToken(o.token, o.endpoint, o.org, access)
  return {
    endpoint: o.endpoint,
    org: o.org,
    prefix: o.prefix,
    log: (line) => o.log(o.redact(line)),
    redact: o.redact,
    retrier: o.retrier,
    baseFetch: o.baseFetch,
    fetch,
    token,
    common: (access) => ({ hubUrl: o.endpoint, accessToken: token(access), fetch }),
    fail: (e, action, subject, signal) =>
      toModelshipError(e, {
        action,
        subject,
        endpoint: o.endpoint,
        org: o.org,
        retries: o.retrier.retries,
        redact: o.redact,
        signal,
      }),
  }
}
