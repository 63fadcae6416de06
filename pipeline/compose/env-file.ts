import { ModelshipError } from '../engine/errors.js'
import { assertValidModelRef } from '../registry/version.js'
import { modelOf, parseArgValue, variableOf, withModel, type ArgValue } from './interpolation.js'
import type { Change, EditResult } from './types.js'

// .env-style files (`KEY=value` lines, as docker compose's --env-file reads them): read and set one
// key, keeping `export `, quotes, comments and line endings.

export interface EnvFileValue {
  line: number
  raw: string
  value: string
  form: 'env' | 'default'
  variable?: string
}

interface EnvLine {
  /** Everything before the value (indent, `export `, key, `=` and spaces). */
  head: string
  quote: '' | '"' | "'" | '`'
  raw: string
  /** Everything after the value (closing quote excluded): spaces and a comment. */
  tail: string
}

/** The lines of a text, each with its own ending, so CRLF and a missing final newline survive. */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? []
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function parseEnvLine(line: string, key: string, where: string): EnvLine | undefined {
  const m = new RegExp(`^(\\s*(?:export\\s+)?${escapeRegExp(key)}\\s*=[ \\t]*)(.*)$`).exec(line)
  if (!m) return undefined
  const head = m[1]!
  const rest = m[2]!
  const q = rest[0]
  if (q === '"' || q === "'" || q === '`') {
    let i = 1
    for (; i < rest.length; i++) {
      if (rest[i] === '\\' && q === '"') i++
      else if (rest[i] === q) break
    }
    if (i >= rest.length) {
      throw new ModelshipError('BAD_INPUT', `${where}: the quoted value of ${key} does not end on its line`)
    }
    return { head, quote: q, raw: rest.slice(1, i), tail: rest.slice(i + 1) }
  }
  const comment = /\s+#/.exec(rest)
  const value = comment ? rest.slice(0, comment.index) : rest
  const trimmed = value.replace(/\s+$/, '')
  const tail = value.slice(trimmed.length) + (comment ? rest.slice(comment.index) : '')
  return { head, quote: '', raw: trimmed, tail }
}

/** The `KEY=…` lines of a .env-style file (the last one wins when a file sets the key twice). */
export function readEnvFileModel(text: string, key: string, file = '.env'): EnvFileValue[] {
  const out: EnvFileValue[] = []
  splitLines(text).forEach((l, i) => {
    const line = l.replace(/\r?\n$/, '')
    const e = parseEnvLine(line, key, `${file}:${i + 1}`)
    if (!e) return
    // Single quotes are literal in compose env files: no interpolation.
    const v: ArgValue = e.quote === "'" ? { kind: 'literal' } : parseArgValue(e.raw)
    const variable = variableOf(v)
    out.push({
      line: i + 1,
      raw: e.raw,
      value: e.quote === "'" ? e.raw : modelOf(e.raw, v),
      form: variable ? 'default' : 'env',
      ...(variable ? { variable } : {}),
    })
  })
  return out
}

/**
 * Sets `KEY=value` lines of a .env-style file, keeping `export `, quotes, comments and line endings.
 * `occurrences: 0` when no line sets the key (unless `appendIfMissing`, which adds `KEY=value`).
 */
export function editEnvFile(
  text: string,
  opts: { file: string; key: string; modelId: string; baseAliases: readonly string[]; appendIfMissing?: boolean },
): EditResult {
  assertValidModelRef(opts.modelId, opts.baseAliases)
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(opts.key)) {
    throw new ModelshipError('CONFIG', `${JSON.stringify(opts.key)} is not a variable name`)
  }
  const changes: Change[] = []
  let occurrences = 0
  const out = splitLines(text).map((l, i) => {
    const eol = /\r?\n$/.exec(l)?.[0] ?? ''
    const line = l.slice(0, l.length - eol.length)
    const where = `${opts.file}:${i + 1}`
    const e = parseEnvLine(line, opts.key, where)
    if (!e) return l
    occurrences++
    const next = e.quote === "'" ? opts.modelId : withModel(e.raw, opts.modelId, where)
    if (next === e.raw) return l
    const rendered = e.quote === '' && /[\s#"'`]/.test(next) ? `"${next}"` : `${e.quote}${next}${e.quote}`
    const after = `${e.head}${rendered}${e.tail}`
    changes.push({ kind: 'env_file', line: i + 1, before: line, after })
    return after + eol
  })
  let result = out.join('')
  if (occurrences === 0 && opts.appendIfMissing) {
    const eol = text.includes('\r\n') ? '\r\n' : '\n'
    const sep = result === '' || result.endsWith('\n') ? '' : eol
    const added = `${opts.key}=${opts.modelId}`
    result = `${result}${sep}${added}${eol}`
    changes.push({ kind: 'env_file', line: splitLines(result).length, before: '', after: added })
    occurrences = 1
  }
  // Verify: every line now reads back the model.
  const back = readEnvFileModel(result, opts.key, opts.file)
  if (back.length !== occurrences || back.some((v) => v.value !== opts.modelId)) {
    const values = JSON.stringify(back.map((v) => v.value))
    const why = `refusing to write the edit of ${opts.key}: it reads back as ${values}`
    throw new ModelshipError('BAD_INPUT', `${opts.file}: ${why}`)
  }
  return { text: result, changes, occurrences, alsoChanged: [] }
}
