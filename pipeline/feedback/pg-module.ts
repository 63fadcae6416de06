import type pg from 'pg'

let loading: Promise<typeof pg> | undefined

/**
 * The pg module, loaded on first use. Node 20 has no global `navigator`; without one, pg probes at load
 * whether it runs on Cloudflare Workers by constructing a fetch `Response`, which loads Node's whole fetch
 * implementation (undici and node:http: ~15 ms of every database export, measured). A `navigator` naming
 * Node is defined while pg loads, then removed; Node 21 and later have their own, which is left alone.
 */
export function loadPg(): Promise<typeof pg> {
  loading ??= (async () => {
    const shim = !('navigator' in globalThis)
    if (shim)
      Object.defineProperty(globalThis, 'navigator', {
        value: { userAgent: `Node.js/${process.versions.node}` },
        configurable: true,
        writable: true,
      })
    try {
      return (await import('pg')).default
    } finally {
      if (shim) delete (globalThis as { navigator?: unknown }).navigator
    }
  })()
  return loading
}
