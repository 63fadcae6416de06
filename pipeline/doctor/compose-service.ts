import { posix } from 'node:path'
import { isMap, isScalar, type Node } from 'yaml'
import { sectionOf } from '../compose/locate.js'
import { lineColOf, parseComposeForReading } from '../compose/yaml-source.js'

// Where the service's image is built from, as docker compose merges the environment's files: relative
// paths are taken from the project directory (the first file's), the last file that sets a key wins,
// and `build: !override` replaces the whole section.

export interface ComposeText {
  /** Workspace-relative path. */
  path: string
  text: string
}

export interface ServiceBuild {
  /** Workspace-relative build context. */
  context: string
  /** Workspace-relative Dockerfile path; undefined for `dockerfile_inline`. */
  dockerfile: string | undefined
  /** The compose file and line that set the context. */
  file: string
  line: number
}

const scalarString = (node: Node | null | undefined): string | undefined =>
  isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number') ? String(node.value) : undefined

const lineOf = (text: string, node: Node | null | undefined): number => lineColOf(text, node?.range?.[0] ?? 0).line

/** The merged build section of `service`; undefined when no file gives it one. Files that do not parse are skipped. */
export function serviceBuildOf(files: readonly ComposeText[], service: string): ServiceBuild | undefined {
  const projectDir = posix.dirname(files[0]?.path ?? '.')
  let context: { value: string; file: string; line: number } | undefined
  let dockerfile: { value: string | undefined } | undefined
  for (const f of files) {
    let build: Node | null
    try {
      build = sectionOf(parseComposeForReading(f.text, f.path), service, ['build'])?.node ?? null
    } catch {
      continue
    }
    if (build === null) continue
    const short = scalarString(build)
    if (short !== undefined) {
      context = { value: short, file: f.path, line: lineOf(f.text, build) }
      continue
    }
    if (!isMap(build)) continue
    if ('tag' in build && build.tag === '!override') dockerfile = undefined
    const ctx = build.get('context', true) as Node | undefined
    if (scalarString(ctx) !== undefined)
      context = { value: scalarString(ctx)!, file: f.path, line: lineOf(f.text, ctx) }
    else if (context === undefined || ('tag' in build && build.tag === '!override')) {
      context = { value: '.', file: f.path, line: lineOf(f.text, build) }
    }
    const df = build.get('dockerfile', true) as Node | undefined
    if (scalarString(df) !== undefined) dockerfile = { value: scalarString(df) }
    if (build.has('dockerfile_inline')) dockerfile = { value: undefined }
  }
  if (!context) return undefined
  const contextPath = posix.normalize(posix.join(projectDir, context.value))
  const dockerfilePath = dockerfile === undefined ? 'Dockerfile' : dockerfile.value
  return {
    context: contextPath,
    dockerfile: dockerfilePath === undefined ? undefined : posix.normalize(posix.join(contextPath, dockerfilePath)),
    file: context.file,
    line: context.line,
  }
}
