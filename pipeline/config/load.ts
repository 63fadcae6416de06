import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isMap, isScalar, LineCounter, parseDocument, type Node as YamlNode } from 'yaml'
import { ModelshipError } from '../engine/errors.js'
import type { Config } from './config.js'
import { defaultConfig } from './config.js'
import { type ConfigLayer, envLayer, isObject } from './layers.js'
import { validateConfig } from './validate.js'

/** Reads `<workspace>/modelship.yaml` (optional). YAML errors name the file, line and column. */
export async function readConfigFile(workspace: string): Promise<ConfigLayer | undefined> {
  const path = join(workspace, 'modelship.yaml')
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ModelshipError('CONFIG', `${path}: cannot read (${(e as Error).message})`)
  }
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { prettyErrors: true, customTags: [], lineCounter })
  const first = doc.errors[0]
  if (first) {
    const pos = first.linePos?.[0]
    const at = pos ? `:${pos.line}:${pos.col}` : ''
    throw new ModelshipError('CONFIG', `${path}${at}: YAML error: ${first.message.split('\n')[0]}`)
  }
  const values = doc.toJS() ?? {}
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
