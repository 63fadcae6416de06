import type { Manifest } from './types.js'

export function sameManifest(a: Manifest, b: Manifest): boolean {
  const keys = Object.keys(a)
  return (
    keys.length === Object.keys(b).length &&
    keys.every((k) => b[k]?.sha256 === a[k]?.sha256 && b[k]?.size === a[k]?.size)
  )
}

/**
 * A manifest whose file names have secrets masked: what registries record and return (a model file
 * named after a token must not put the token into registry metadata, run state or history).
 */
export function redactManifestPaths(manifest: Manifest, redact: (text: string) => string): Manifest {
  const out: Manifest = {}
  for (const [path, entry] of Object.entries(manifest)) out[redact(path)] = entry
  return out
}
