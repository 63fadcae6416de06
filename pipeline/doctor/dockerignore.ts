import picomatch from 'picomatch'
import type { Finding } from './finding.js'

// The state directory holds every run's dataset and model: a build context that does not exclude it
// copies them into the image (`COPY . .`), and every image pushed afterwards ships them.

/** Docker's rule: the last pattern that matches a path (or one of its parent directories) decides. */
export function isExcluded(dockerignore: string, path: string): boolean {
  const parts = path.split('/')
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'))
  let excluded = false
  for (const raw of dockerignore.split(/\r?\n/)) {
    let line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const negate = line.startsWith('!')
    if (negate) line = line.slice(1).trim()
    const pattern = line.replace(/^\/+/, '').replace(/\/+$/, '').replace(/^\.\//, '')
    if (pattern === '') continue
    const match = picomatch(pattern, { dot: true })
    if (candidates.some((c) => match(c))) excluded = !negate
  }
  return excluded
}

export function checkDockerignore(o: {
  /** Workspace-relative path of the .dockerignore in effect, undefined when there is none. */
  file: string | undefined
  text: string | undefined
  /** Workspace-relative build context. */
  context: string
  /** The state directory as a path inside the context (`.modelship` when the context is the workspace). */
  stateInContext: string
}): Finding {
  const fix = `add a line ".modelship" to ${o.file ?? `${o.context === '.' ? '' : `${o.context}/`}.dockerignore`}`
  if (o.file === undefined || o.text === undefined) {
    return {
      check: 'dockerignore',
      level: 'warn',
      message:
        `build context ${o.context} has no .dockerignore: .modelship/ (datasets and models of every run) can ` +
        `be copied into the image`,
      fix,
    }
  }
  if (!isExcluded(o.text, o.stateInContext)) {
    return {
      check: 'dockerignore',
      level: 'warn',
      file: o.file,
      message: `does not exclude ${o.stateInContext}: every run's dataset and model can be copied into the image`,
      fix,
    }
  }
  return { check: 'dockerignore', level: 'ok', file: o.file, message: `excludes ${o.stateInContext}` }
}
