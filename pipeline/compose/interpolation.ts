import { ModelshipError } from '../engine/errors.js'

// Compose interpolation in one value: `${VAR:-default}`, `${VAR-default}`, `${VAR}`, `$VAR`,
// `${VAR:?err}` and `$$`. Only as much as finding and replacing the model needs.

export type ArgValue =
  | { kind: 'literal' }
  | { kind: 'default'; variable: string; op: ':-' | '-'; inner: ArgValue; innerRaw: string }
  | { kind: 'env'; variable: string }
  | { kind: 'required'; variable: string }
  | { kind: 'other' }

/** Index of the `}` closing the `${` at `open`, or -1. */
function closingBrace(s: string, open: number): number {
  let depth = 0
  for (let i = open; i < s.length; i++) {
    if (s[i] === '$' && s[i + 1] === '$') {
      i++
      continue
    }
    if (s[i] === '$' && s[i + 1] === '{') {
      depth++
      i++
    } else if (s[i] === '}') {
      depth--
      if (depth === 0) return i
    }
  }
  return -1
}

export function parseArgValue(raw: string): ArgValue {
  if (!raw.replace(/\$\$/g, '').includes('$')) return { kind: 'literal' }
  const bare = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(raw)
  if (bare) return { kind: 'env', variable: bare[1]! }
  if (!raw.startsWith('${') || closingBrace(raw, 0) !== raw.length - 1) return { kind: 'other' }
  const body = raw.slice(2, -1)
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)|(:?\?)|(:?\+))?/.exec(body)
  if (!m) return { kind: 'other' }
  const variable = m[1]!
  const rest = body.slice(m[0].length)
  if (m[2]) return { kind: 'default', variable, op: m[2] as ':-' | '-', inner: parseArgValue(rest), innerRaw: rest }
  if (m[3]) return { kind: 'required', variable }
  if (m[4] || rest !== '') return { kind: 'other' }
  return { kind: 'env', variable }
}

/** The variable a `${VAR:-default}` / `${VAR}` value reads first; undefined for a literal. */
export function variableOf(v: ArgValue): string | undefined {
  return v.kind === 'default' || v.kind === 'env' ? v.variable : undefined
}

/** The model a raw value configures: the literal, or the (innermost) default. */
export function modelOf(raw: string, v: ArgValue = parseArgValue(raw)): string {
  switch (v.kind) {
    case 'literal':
      return raw.replace(/\$\$/g, '$')
    case 'default':
      return modelOf(v.innerRaw, v.inner)
    default:
      return ''
  }
}

/** The raw value after setting the model: the literal replaced, or only the default of `${VAR:-default}`. */
export function withModel(raw: string, modelId: string, where: string, v: ArgValue = parseArgValue(raw)): string {
  switch (v.kind) {
    case 'literal':
      return modelId
    case 'default':
      return `\${${v.variable}${v.op}${withModel(v.innerRaw, modelId, where, v.inner)}}`
    case 'env':
      // `${VAR}` has no default to change: add one; the variable still wins when it is set.
      return `\${${v.variable}:-${modelId}}`
    case 'required':
      throw new ModelshipError(
        'BAD_INPUT',
        `${where}: the value comes only from the environment variable ${v.variable} (\${${v.variable}:?…}); ` +
          'there is no default to set',
        { hint: `list the .env file that sets ${v.variable} under env_files, or write \${${v.variable}:-<model>}` },
      )
    case 'other':
      throw new ModelshipError(
        'BAD_INPUT',
        `${where}: ${JSON.stringify(raw)} mixes text and variables; modelship cannot tell which part is the model`,
        { hint: 'write the model id alone, or ${VAR:-<model>}' },
      )
  }
}
