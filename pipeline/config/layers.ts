// The layers of the configuration (defaults < modelship.yaml < environment < flags) and how they merge.

export type Raw = Record<string, unknown>

export function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Which environment variables feed which config keys (the env layer). `.env.example` lists them all. */
export const ENV_KEYS: ReadonlyArray<readonly [envVar: string, path: readonly string[]]> = [
  ['HF_ORG', ['model', 'org']],
  ['HF_REPO_PREFIX', ['model', 'prefix']],
  ['MODELSHIP_REGISTRY', ['registry']],
  ['MODELSHIP_REGISTRY_DIR', ['registry_dir']],
  ['HF_ENDPOINT', ['hf_endpoint']],
  ['FEEDBACK_SOURCE', ['feedback', 'source']],
  ['GITHUB_API_URL', ['deploy', 'github', 'api_url']],
]

export interface ConfigLayer {
  /** Where the values come from, for error messages: "modelship.yaml", "environment", "--flag". */
  origin: string
  values: Record<string, unknown>
  /** The line of each key path in the file the layer came from (for `modelship.yaml:12`). */
  lines?: ReadonlyMap<string, number>
}

/** Deep merge: later layers win; arrays and scalars are replaced, objects merged. Each key remembers its origin. */
export function mergeLayers(layers: readonly ConfigLayer[]): { merged: Raw; origins: Map<string, string> } {
  const origins = new Map<string, string>()
  const mergeInto = (target: Raw, source: Raw, origin: string, path: string): void => {
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined) continue
      const keyPath = path ? `${path}.${key}` : key
      // A file's `environments` replaces the default ones: an app with production and staging must not
      // also get a default qa pointing at files it does not have.
      const replaces = keyPath === 'environments' && origin !== 'defaults'
      if (isObject(value) && isObject(target[key]) && !replaces) {
        mergeInto(target[key] as Raw, value, origin, keyPath)
      } else {
        target[key] = isObject(value) ? structuredClone(value) : value
        origins.set(keyPath, origin)
        if (isObject(value)) markOrigins(value, origin, keyPath, origins)
      }
    }
  }
  const merged: Raw = {}
  for (const layer of layers) mergeInto(merged, layer.values, layer.origin, '')
  return { merged, origins }
}

function markOrigins(value: Raw, origin: string, path: string, origins: Map<string, string>): void {
  for (const [k, v] of Object.entries(value)) {
    origins.set(`${path}.${k}`, origin)
    if (isObject(v)) markOrigins(v, origin, `${path}.${k}`, origins)
  }
}

export function originOf(origins: Map<string, string>, path: string): string {
  let p = path
  for (;;) {
    const o = origins.get(p)
    if (o) return o
    const dot = p.lastIndexOf('.')
    if (dot < 0) return 'defaults'
    p = p.slice(0, dot)
  }
}

/** The env layer: only variables that are set and non-empty. */
export function envLayer(env: Readonly<Record<string, string | undefined>>): ConfigLayer {
  const values: Raw = {}
  for (const [name, path] of ENV_KEYS) {
    const v = env[name]
    if (v === undefined || v === '') continue
    let cursor = values
    for (const key of path.slice(0, -1)) cursor = (cursor[key] ??= {}) as Raw
    cursor[path.at(-1)!] = v
  }
  return { origin: 'environment', values }
}
