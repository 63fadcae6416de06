import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { join } from 'node:path'
import { isMap, isScalar, LineCounter, parseDocument, visit, type Node as YamlNode } from 'yaml'
import { ModelshipError } from '../engine/errors.js'
import type { Config } from './config.js'
import { defaultConfig } from './config.js'
import { type ConfigLayer, envLayer, isObject } from './layers.js'
import { validateConfig } from './validate.js'

/**
 * Limits on what a modelship.yaml may make the parser do (issue 25: a hostile config is refused in
 * bounded time and memory, never a crash). The bundled example is 1.7 KB.
 */
export const CONFIG_LIMITS = {
  /** Bytes of the file. */
  maxBytes: 256 * 1024,
  /** Alias expansions when the document becomes values (the yaml library's `maxAliasCount`). */
  maxAliasCount: 100,
  /** Flow collections (`[`, `{`) inside one another: the parser recurses once per level. */
  maxFlowDepth: 64,
} as const

/** Reads `<workspace>/modelship.yaml` (optional). YAML errors name the file, line and column. */
export async function readConfigFile(workspace: string): Promise<ConfigLayer | undefined> {
  const path = join(workspace, 'modelship.yaml')
  const text = readLimited(path)
  if (text === undefined) return undefined
  const deep = flowDepthOver(text, CONFIG_LIMITS.maxFlowDepth)
  if (deep !== undefined)
    throw new ModelshipError(
      'CONFIG',
      `${path}:${deep}: YAML error: collections nested more than ${CONFIG_LIMITS.maxFlowDepth} deep`,
    )
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { prettyErrors: true, customTags: [], lineCounter, uniqueKeys: true })
  const first = doc.errors[0]
  if (first) {
    const pos = first.linePos?.[0]
    const at = pos ? `:${pos.line}:${pos.col}` : ''
    throw new ModelshipError('CONFIG', `${path}${at}: YAML error: ${first.message.split('\n')[0]}`)
  }
  let values: unknown
  try {
    values = doc.toJS({ maxAliasCount: CONFIG_LIMITS.maxAliasCount }) ?? {}
  } catch (e) {
    // The library refuses an alias bomb ("Excessive alias count") as it expands it: name the first alias.
    let line: number | undefined
    visit(doc, {
      Alias(_, node) {
        if (node.range) line = lineCounter.linePos(node.range[0]).line
        return visit.BREAK
      },
    })
    throw new ModelshipError(
      'CONFIG',
      `${path}${line ? `:${line}` : ''}: YAML error: aliases expand too far ` +
        `(${(e as Error).message}; at most ${CONFIG_LIMITS.maxAliasCount} expansions)`,
    )
  }
  if (!isObject(values)) throw new ModelshipError('CONFIG', `${path}: expected a mapping at the top level`)
  const lines = new Map<string, number>()
  const walk = (node: YamlNode | null | undefined, prefix: string): void => {
    if (!isMap(node)) return
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue
      const keyPath = prefix ? `${prefix}.${String(pair.key.value)}` : String(pair.key.value)
      if (pair.key.range) lines.set(keyPath, lineCounter.linePos(pair.key.range[0]).line)
      walk(pair.value as YamlNode | null, keyPath)
    }
  }
  walk(doc.contents as YamlNode | null, '')
  return { origin: 'modelship.yaml', values, lines }
}

/** The file's text, undefined when there is none; refused when it is no regular file or too big. */
function readLimited(path: string): string | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ModelshipError('CONFIG', `${path}: cannot read (${(e as Error).message})`)
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw new ModelshipError('CONFIG', `${path}: not a regular file`)
    if (st.size > CONFIG_LIMITS.maxBytes)
      throw new ModelshipError(
        'CONFIG',
        `${path}: ${st.size} bytes, more than the ${CONFIG_LIMITS.maxBytes} a modelship.yaml may have`,
      )
    // Read at most one byte past the cap: a file that grows after the stat is still bounded.
    const buf = Buffer.alloc(CONFIG_LIMITS.maxBytes + 1)
    let n = 0
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null)
    if (n > CONFIG_LIMITS.maxBytes)
      throw new ModelshipError(
        'CONFIG',
        `${path}: more than the ${CONFIG_LIMITS.maxBytes} bytes a modelship.yaml may have`,
      )
    return buf.subarray(0, n).toString('utf8')
  } catch (e) {
    if (e instanceof ModelshipError) throw e
    throw new ModelshipError('CONFIG', `${path}: cannot read (${(e as Error).message})`)
  } finally {
    closeSync(fd)
  }
}

/**
 * The line where flow collections first nest deeper than `max`, or undefined. A cheap scan before the
 * parser (which recurses per level): quoted strings and comments are skipped, so brackets inside them do
 * not count; a plain scalar's brackets may, which only matters to a text nesting 64 of them.
 */
export function flowDepthOver(text: string, max: number): number | undefined {
  let depth = 0
  let line = 1
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '\n') line++
    else if (c === '[' || c === '{') {
      if (++depth > max) return line
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1)
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++
    } else if ((c === '"' || c === "'") && (i === 0 || /[\s:[{,]/.test(text[i - 1]!))) {
      // A quote opens a string only where a scalar starts (not the one in `it's`).
      for (i++; i < text.length && text[i] !== c; i++) {
        if (text[i] === '\n') line++
        if (c === '"' && text[i] === '\\') i++
      }
    }
  }
  return undefined
}

/** Builds and validates the config from all layers; throws CONFIG with every error (one per line). */
export async function loadConfig(opts: {
  workspace: string
  env: Readonly<Record<string, string | undefined>>
  flags?: Record<string, unknown>
  warn?: (message: string) => void
}): Promise<Config> {
  const file = await readConfigFile(opts.workspace)
  const layers: ConfigLayer[] = [{ origin: 'defaults', values: defaultConfig() }]
  if (file) layers.push(file)
  layers.push(envLayer(opts.env))
  if (opts.flags && Object.keys(opts.flags).length > 0) layers.push({ origin: 'command line', values: opts.flags })
  const { config, errors, warnings } = validateConfig(layers, opts.workspace)
  for (const w of warnings) opts.warn?.(w)
  if (errors.length > 0) {
    const [first, ...rest] = errors
    throw new ModelshipError(
      'CONFIG',
      `invalid configuration: ${first}`,
      rest.length ? { details: rest.join('\n') } : {},
    )
  }
  return config
}
