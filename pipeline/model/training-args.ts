import { readFileSync } from 'node:fs'
import { isAbsolute, join, relative, sep } from 'node:path'

/** How a model was trained, as its trainer recorded it (training_args.json, else config.json). */
export interface TrainingOrigin {
  /** `baseline`, `transformers`, … as the trainer named it. */
  backend?: string
  /** The model it was fine-tuned from (transformers backend). */
  baseModel?: string
}

const readJson = async (path: string): Promise<Record<string, unknown> | undefined> => {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined)

/** The backend and base model the trainer wrote; nothing is taken from modelship's defaults. */
export async function readTrainingOrigin(modelDir: string): Promise<TrainingOrigin> {
  const args = (await readJson(join(modelDir, 'training_args.json'))) ?? {}
  const config = (await readJson(join(modelDir, 'config.json'))) ?? {}
  const backend = text(args.backend) ?? text(config.backend)
  const base = text(args.base_model) ?? text(config.base_model) ?? text(config._name_or_path)
  // A local path is no base model anyone can look up.
  const baseModel = base !== undefined && !looksLikeAbsolutePath(base) ? base : undefined
  return { ...(backend ? { backend } : {}), ...(baseModel ? { baseModel } : {}) }
}

export const looksLikeAbsolutePath = (s: string): boolean =>
  (isAbsolute(s) && s.length > 1) || /^[A-Za-z]:[\\/]/.test(s)

/**
 * Pure: the value with every absolute local path rewritten: inside the model folder → relative to it
 * (`.` for the folder), elsewhere → its file name. Such paths say where a machine kept its files and
 * mean nothing (or too much) to whoever downloads the model.
 */
export function withoutAbsolutePaths(value: unknown, modelDir: string): unknown {
  if (typeof value === 'string') {
    if (!looksLikeAbsolutePath(value)) return value
    const rel = relative(modelDir, value)
    if (rel === '') return '.'
    if (!rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep).join('/')
    // The last part in either separator: a Windows path names its file too.
    return (
      value
        .replace(/[\\/]+$/, '')
        .split(/[\\/]/)
        .pop() ?? value
    )
  }
  if (Array.isArray(value)) return value.map((v) => withoutAbsolutePaths(v, modelDir))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutAbsolutePaths(v, modelDir)]))
  }
  return value
}

const MAX_SCRUBBED_BYTES = 4 * 1024 * 1024
/**
 * A JSON string that starts like an absolute path (`"/`, `"\/`, `"C:\\`, `"C:/`) or with a \u escape
 * (which could spell one): only files with such a string can need rewriting.
 */
const MAY_HOLD_ABSOLUTE_PATH = /"(?:\/|\\\/|\\u|[A-Za-z]:(?:\\\\|\/|\\\/))/

/**
 * The small JSON files a push uploads (training_args.json, config.json, …) that hold absolute local
 * paths, with those paths rewritten: pushed in place of the originals, which stay untouched.
 * Weights and large files are never opened.
 */
export async function withoutAbsolutePathFiles(
  modelDir: string,
  files: ReadonlyArray<{ path: string; size: number }>,
): Promise<Array<{ path: string; content: string }>> {
  const rewritten: Array<{ path: string; content: string }> = []
  for (const f of files) {
    if (!f.path.endsWith('.json') || f.size > MAX_SCRUBBED_BYTES) continue
    let parsed: unknown
    try {
      const text = readFileSync(join(modelDir, ...f.path.split('/')), 'utf8')
      // Most files (a 650 KB weights JSON) hold no string that starts like a path: not parsed, not walked.
      if (!MAY_HOLD_ABSOLUTE_PATH.test(text)) continue
      parsed = JSON.parse(text)
    } catch {
      continue
    }
    const clean = withoutAbsolutePaths(parsed, modelDir)
    if (JSON.stringify(clean) !== JSON.stringify(parsed))
      rewritten.push({ path: f.path, content: `${JSON.stringify(clean, null, 2)}\n` })
  }
  return rewritten
}
