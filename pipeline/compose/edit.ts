import { isDeepStrictEqual } from 'node:util'
import {
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  Scalar,
  visit,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml'
import { ModelshipError } from '../engine/errors.js'
import { assertValidModelRef } from '../registry/version.js'

// Pure text edits of the user's compose and .env files. The rule: parse to FIND the value, then
// splice the new characters into the ORIGINAL text at the node's range and re-parse to verify.
// Never `doc.toString()`: it reflows comments, quoting and line endings of the whole file.

export interface Change {
  /** 1-based line of the edited value. */
  line: number
  /** The whole line before and after the edit (without its line ending). */
  before: string
  after: string
  /** Set when the value lives in an anchored node the service reaches through an alias or merge key (`<<: *name`). */
  anchor?: string
}

export interface EditResult {
  text: string
  changes: Change[]
  /** How many places set the value (edited or already right); 0 when the service or the arg is absent. */
  occurrences: number
  /**
   * Other places in the document whose value changes too, because they share an edited anchor
   * (e.g. `services.worker.build.args.HF_INTENT_MODEL`). Empty in the common case.
   */
  alsoChanged: string[]
}

export interface ConfiguredValue {
  line: number
  /** The arg's value as written (unquoted), e.g. `${HF_INTENT_MODEL:-mdeberta}` or `pratikoai/x-v1.0`. */
  raw: string
  /** The model: the value, or for `${VAR:-default}` the default. */
  value: string
  form: 'map' | 'list' | 'default'
  /** For `${VAR:-default}`: VAR. */
  variable?: string
  /** Set when the value lives in an anchored node (see Change.anchor). */
  anchor?: string
}

export interface ComposeTarget {
  file: string
  service: string
  buildArg: string
}

// ---------------------------------------------------------------------------------------------
// Parsing

// Compose files lean on `<<: *defaults`; yaml's default alias budget (100) is for untrusted input.
const TO_JS = { maxAliasCount: 10_000 }

/** Offsets → 1-based line and column. */
function lineColOf(text: string, offset: number): { line: number; col: number } {
  let line = 1
  let start = 0
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++
    start = i + 1
  }
  return { line, col: offset - start + 1 }
}

function yamlError(file: string, text: string, offset: number, message: string): ModelshipError {
  const { line, col } = lineColOf(text, offset)
  // The offending line with a caret under the column, printed after the message.
  const details = `${lineAt(text, offset)}\n${' '.repeat(Math.max(0, col - 1))}^`
  return new ModelshipError('BAD_INPUT', `${file}:${line}:${col}: YAML error: ${message}`, { details })
}

/**
 * Parses a compose file. Unknown tags (`!override`, `!reset`) pass through: the yaml library only
 * warns about them and keeps the node, which is all a text splice needs. Merge keys are on, as in
 * docker compose. Errors (syntax, duplicate keys, an alias used before its anchor) throw BAD_INPUT
 * with file:line:col.
 */
function parseCompose(text: string, file: string): Document.Parsed {
  const doc = parseDocument(text, { merge: true, prettyErrors: false, keepSourceTokens: false })
  const [err] = doc.errors
  if (err) throw yamlError(file, text, err.pos[0], err.message.split('\n')[0] ?? err.message)
  // yaml resolves aliases lazily, so an alias whose anchor is defined later (or never) parses without
  // error. Docker compose (go-yaml) rejects such a file ("unknown anchor referenced"), so do we, before
  // any edit: a file compose cannot load must not be half-edited and then fail at build time.
  const anchors = new Set<string>()
  visit(doc, {
    Node(_, node) {
      if ('anchor' in node && typeof node.anchor === 'string') anchors.add(node.anchor)
    },
  })
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return
      const where = alias.range?.[0] ?? 0
      const name = alias.source
      throw yamlError(
        file,
        text,
        where,
        anchors.has(name)
          ? `alias *${name} is used before its anchor &${name} is defined; YAML (and docker compose) need the anchor first — move the block with &${name} above its first use`
          : `alias *${name} refers to no anchor &${name}`,
      )
    },
  })
  return doc
}

// ---------------------------------------------------------------------------------------------
// Finding the build arg

interface Located {
  node: Node | null
  /** The anchor of the alias/merge key last followed to reach the node. */
  anchor: string | undefined
}

/** One place the build arg is set. */
interface Occurrence {
  kind: 'map' | 'list'
  /** The scalar holding the value (map form) or the `KEY=value` item (list form); null for `{KEY}` in a flow map. */
  scalar: Scalar | null
  /** map form: the pair (to insert a value into `{KEY}`). */
  pair?: Pair
  anchor: string | undefined
}

function follow(doc: Document.Parsed, node: unknown, anchor: string | undefined): Located {
  if (isAlias(node)) {
    const target = node.resolve(doc)
    return { node: (target as Node | undefined) ?? null, anchor: node.source }
  }
  return { node: (node as Node | null | undefined) ?? null, anchor }
}

function keyOf(doc: Document.Parsed, key: unknown): string | undefined {
  const k = follow(doc, key, undefined).node
  return isScalar(k) && (typeof k.value === 'string' || typeof k.value === 'number') ? String(k.value) : undefined
}

function isMergePair(pair: Pair): boolean {
  const k = pair.key
  // With `merge: true` yaml gives the plain `<<` key a symbol value; a quoted '<<' is an ordinary key.
  return isScalar(k) && (typeof k.value === 'symbol' || (k.value === '<<' && k.type === Scalar.PLAIN))
}

/**
 * The pair that gives `key` its value in `map`, as compose reads it: the map's own key wins over
 * merged ones; among merge sources (`<<: [*a, *b]`) the first that has the key wins.
 */
function lookup(doc: Document.Parsed, map: YAMLMap, key: string, anchor: string | undefined, seen = new Set<Node>()): { pair: Pair; anchor: string | undefined } | undefined {
  if (seen.has(map)) return undefined
  seen.add(map)
  const own = map.items.filter((p) => !isMergePair(p) && keyOf(doc, p.key) === key).at(-1)
  if (own) return { pair: own, anchor }
  for (const merge of map.items.filter(isMergePair)) {
    const sources = isSeq(merge.value) ? merge.value.items : [merge.value]
    for (const s of sources) {
      const src = follow(doc, s, anchor)
      if (!isMap(src.node)) continue
      const hit = lookup(doc, src.node, key, src.anchor, seen)
      if (hit) return hit
    }
  }
  return undefined
}

/** Compose drops a node tagged `!reset` when it merges files: whatever it holds is not configured. */
function isReset(node: Node | null): boolean {
  return node !== null && 'tag' in node && node.tag === '!reset'
}

function child(doc: Document.Parsed, at: Located, key: string): Located | undefined {
  if (!isMap(at.node)) return undefined
  const hit = lookup(doc, at.node, key, at.anchor)
  if (!hit) return undefined
  const v = follow(doc, hit.pair.value, hit.anchor)
  return isReset(v.node) ? undefined : v
}

/** The build.args node of `services.<service>` (through aliases and merge keys), if any. */
function argsOf(doc: Document.Parsed, service: string): Located | undefined {
  let at: Located | undefined = follow(doc, doc.contents, undefined)
  for (const key of ['services', service, 'build', 'args']) {
    at = at && child(doc, at, key)
    if (!at) return undefined
  }
  return at
}

function stringOf(node: Scalar): string {
  if (node.value === null || node.value === undefined) return ''
  // A plain `1.0` is the number 1 to YAML but the text "1.0" to a build arg.
  if (node.type === Scalar.PLAIN && typeof node.source === 'string') return node.source
  return String(node.value)
}

function findOccurrences(doc: Document.Parsed, t: ComposeTarget): Occurrence[] {
  const args = argsOf(doc, t.service)
  if (!args) return []
  const out: Occurrence[] = []
  if (isMap(args.node)) {
    const hit = lookup(doc, args.node, t.buildArg, args.anchor)
    if (!hit) return []
    const v = follow(doc, hit.pair.value, hit.anchor)
    if (isReset(v.node)) return []
    if (v.node !== null && !isScalar(v.node)) {
      throw new ModelshipError('BAD_INPUT', `${t.file}: services.${t.service}.build.args.${t.buildArg} is not a single value`)
    }
    out.push({ kind: 'map', scalar: v.node, pair: hit.pair, anchor: v.anchor })
  } else if (isSeq(args.node)) {
    for (const item of args.node.items) {
      const v = follow(doc, item, args.anchor)
      if (!isScalar(v.node) || typeof v.node.value !== 'string') continue
      const s = v.node.value
      if (s === t.buildArg || s.startsWith(`${t.buildArg}=`)) out.push({ kind: 'list', scalar: v.node, anchor: v.anchor })
    }
  }
  // The same node reached twice (an alias listed twice) is one place in the text.
  return out.filter((o, i) => o.scalar === null || out.findIndex((p) => p.scalar === o.scalar) === i)
}

// ---------------------------------------------------------------------------------------------
// Interpolation: `${VAR:-default}` and friends

type ArgValue =
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

function parseArgValue(raw: string): ArgValue {
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

/** The model a raw arg value configures: the literal, or the (innermost) default. */
function modelOf(raw: string, v: ArgValue = parseArgValue(raw)): string {
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
function withModel(raw: string, modelId: string, where: string, v: ArgValue = parseArgValue(raw)): string {
  switch (v.kind) {
    case 'literal':
      return modelId
    case 'default':
      return `\${${v.variable}${v.op}${withModel(v.innerRaw, modelId, where, v.inner)}}`
    case 'env':
      // `${VAR}` has no default to change: add one; the variable still wins when it is set.
      return `\${${v.variable}:-${modelId}}`
    case 'required':
      throw new ModelshipError('BAD_INPUT', `${where}: the value comes only from the environment variable ${v.variable} (\${${v.variable}:?…}); there is no default to set`, {
        hint: `list the .env file that sets ${v.variable} under env_files, or write \${${v.variable}:-<model>}`,
      })
    case 'other':
      throw new ModelshipError('BAD_INPUT', `${where}: ${JSON.stringify(raw)} mixes text and variables; modelship cannot tell which part is the model`, {
        hint: 'write the model id alone, or ${VAR:-<model>}',
      })
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering a scalar in the original's style

function plainIsSafe(s: string, inFlow: boolean): boolean {
  if (s === '' || s.trim() !== s) return false
  const probe = inFlow ? `[${s}]` : `k: ${s}`
  const doc = parseDocument(probe)
  if (doc.errors.length > 0 || doc.warnings.length > 0) return false
  const js: unknown = doc.toJS()
  return inFlow ? isDeepStrictEqual(js, [s]) : isDeepStrictEqual(js, { k: s })
}

function render(s: string, type: Scalar['type'], inFlow: boolean, where: string): string {
  switch (type) {
    case Scalar.QUOTE_SINGLE:
      return `'${s.replace(/'/g, "''")}'`
    case Scalar.QUOTE_DOUBLE:
      return JSON.stringify(s)
    case Scalar.BLOCK_FOLDED:
    case Scalar.BLOCK_LITERAL:
      throw new ModelshipError('BAD_INPUT', `${where}: the value is a block scalar (| or >); write it on one line`)
    default:
      // Plain stays plain when it reads back the same; otherwise it gets double quotes.
      return plainIsSafe(s, inFlow) ? s : JSON.stringify(s)
  }
}

// ---------------------------------------------------------------------------------------------
// Public API

function lineAt(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1
  const nl = text.indexOf('\n', offset)
  return text.slice(start, nl < 0 ? text.length : nl).replace(/\r$/, '')
}

/** What `services.<service>.build.args.<buildArg>` is set to in this compose file, per occurrence. */
export function readComposeModel(text: string, t: ComposeTarget): ConfiguredValue[] {
  const doc = parseCompose(text, t.file)
  return findOccurrences(doc, t).map((o) => {
    const offset = o.scalar?.range?.[0] ?? (o.pair?.key as Node | undefined)?.range?.[0] ?? 0
    const whole = o.scalar ? stringOf(o.scalar) : ''
    const raw = o.kind === 'list' ? (whole.includes('=') ? whole.slice(whole.indexOf('=') + 1) : '') : whole
    const v = parseArgValue(raw)
    return {
      line: lineColOf(text, offset).line,
      raw,
      value: modelOf(raw, v),
      form: v.kind === 'default' || v.kind === 'env' ? 'default' : o.kind,
      ...(v.kind === 'default' || v.kind === 'env' ? { variable: v.variable } : {}),
      ...(o.anchor ? { anchor: o.anchor } : {}),
    }
  })
}

/** Flow context of each scalar: plain text that is fine in a block can be invalid inside [ ] or { }. */
function flowScalars(doc: Document.Parsed): WeakSet<Node> {
  const set = new WeakSet<Node>()
  visit(doc, {
    Scalar(_, node, path) {
      if (path.some((p) => isCollection(p) && p.flow === true)) set.add(node)
    },
  })
  return set
}

interface Splice {
  start: number
  end: number
  text: string
  anchor: string | undefined
}

/**
 * Sets the build arg of `services.<service>` to `modelId` in a compose file's text: map form,
 * list form (`- KEY=value`), `${KEY:-default}` (only the default), flow collections, tagged
 * (`!override`, `!reset`) nodes and anchors reached through aliases or merge keys (the anchor's
 * text is edited; `alsoChanged` lists what else shares it). Only the value's characters change.
 * Throws BAD_INPUT for an invalid model id (before anything else) or a file that does not parse,
 * and refuses any result that does not read back exactly as intended.
 */
export function editComposeBuildArg(text: string, opts: ComposeTarget & { modelId: string; baseAliases: readonly string[] }): EditResult {
  assertValidModelRef(opts.modelId, opts.baseAliases)
  const doc = parseCompose(text, opts.file)
  const occurrences = findOccurrences(doc, opts)
  const inFlow = flowScalars(doc)
  const before: unknown = doc.toJS(TO_JS)
  const where = `${opts.file}: services.${opts.service}.build.args.${opts.buildArg}`

  const splices: Splice[] = []
  for (const o of occurrences) {
    if (o.scalar === null) {
      // `{ KEY }` in a flow map: insert `: value` after the key.
      const key = o.pair!.key as Node
      const at = key.range![1]
      splices.push({ start: at, end: at, text: `: ${render(opts.modelId, Scalar.PLAIN, true, where)}`, anchor: o.anchor })
      o.pair!.value = new Scalar(opts.modelId) // the expected document, for the check below
      continue
    }
    const old = stringOf(o.scalar)
    let next: string
    if (o.kind === 'map') next = withModel(old, opts.modelId, where)
    else {
      const eq = old.indexOf('=')
      next = `${opts.buildArg}=${withModel(eq < 0 ? '' : old.slice(eq + 1), opts.modelId, where)}`
    }
    if (next === old && typeof o.scalar.value === 'string') continue
    const [start, end] = o.scalar.range!
    let src = render(next, o.scalar.type, inFlow.has(o.scalar), where)
    // An empty value (`KEY:`) gets a space after the colon (or after a tag such as `!!str`).
    if (start === end && start > 0 && !/\s/.test(text[start - 1] ?? '')) src = ` ${src}`
    splices.push({ start, end, text: src, anchor: o.anchor })
    o.scalar.value = next // mutate the parsed original: its toJS() is the expected result
  }

  let out = text
  for (const s of [...splices].sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.text + out.slice(s.end)

  const expected: unknown = doc.toJS(TO_JS)
  if (splices.length > 0) verifyEdit(out, expected, occurrences.length, opts)

  // One entry per edited line, in file order; `delta` maps an original offset into the new text.
  const changes: Change[] = []
  let delta = 0
  for (const s of [...splices].sort((a, b) => a.start - b.start)) {
    const line = lineColOf(text, s.start).line
    const after = lineAt(out, s.start + delta)
    delta += s.text.length - (s.end - s.start)
    const prev = changes.at(-1)
    if (prev?.line === line) prev.after = after
    else changes.push({ line, before: lineAt(text, s.start), after, ...(s.anchor ? { anchor: s.anchor } : {}) })
  }

  const own = `services.${opts.service}.build.args`
  const alsoChanged = changedPaths(before, expected).filter((p) => p !== own && !p.startsWith(`${own}.`) && !p.startsWith(`${own}[`))
  return { text: out, changes, occurrences: occurrences.length, alsoChanged }
}

/** Re-parses the edited text: it must parse, read back the model everywhere, and equal the expected document. */
function verifyEdit(out: string, expected: unknown, count: number, opts: ComposeTarget & { modelId: string }): void {
  const fail = (why: string, cause?: unknown) =>
    new ModelshipError('BAD_INPUT', `${opts.file}: refusing to write the edit of ${opts.buildArg}: ${why}`, {
      hint: `set ${opts.buildArg} to ${opts.modelId} by hand, or simplify that part of the file`,
      ...(cause === undefined ? {} : { cause }),
    })
  let doc: Document.Parsed
  try {
    doc = parseCompose(out, opts.file)
  } catch (e) {
    throw fail('the result does not parse', e)
  }
  const values = findOccurrences(doc, opts).map((o) => {
    const s = o.scalar ? stringOf(o.scalar) : ''
    return modelOf(o.kind === 'list' ? s.slice(s.indexOf('=') + 1) : s)
  })
  if (values.length !== count || values.some((v) => v !== opts.modelId)) throw fail(`it reads back as ${JSON.stringify(values)}`)
  if (!isDeepStrictEqual(doc.toJS(TO_JS), expected)) throw fail('something else in the document would change')
}

/** Dotted paths (`a.b[0].c`) where two JSON-like values differ. */
function changedPaths(a: unknown, b: unknown, path = ''): string[] {
  if (isDeepStrictEqual(a, b)) return []
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((x, i) => changedPaths(x, b[i], `${path}[${i}]`))
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    return keys.flatMap((k) =>
      changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k),
    )
  }
  return [path]
}

/**
 * Warnings for secrets passed as build args of `service` (HF_TOKEN and anything named like a
 * token, secret or password): build args are stored in the image history (`docker history`).
 * A file that does not parse gives no warnings (the edit reports the error).
 */
export function findBuildArgAsSecretWarning(text: string, opts: { service: string }): string[] {
  let doc: Document.Parsed
  try {
    doc = parseCompose(text, 'compose file')
  } catch {
    return []
  }
  const args = argsOf(doc, opts.service)
  if (!args) return []
  const names: Array<{ name: string; offset: number }> = []
  const secret = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY/i
  if (isMap(args.node)) {
    const seen = new Set<string>()
    const collect = (map: YAMLMap, depth: number): void => {
      for (const p of map.items) {
        if (isMergePair(p)) {
          const sources = isSeq(p.value) ? p.value.items : [p.value]
          for (const s of sources) {
            const src = follow(doc, s, undefined).node
            if (isMap(src) && depth < 8) collect(src, depth + 1)
          }
          continue
        }
        const k = keyOf(doc, p.key)
        if (k !== undefined && secret.test(k) && !seen.has(k)) {
          seen.add(k)
          names.push({ name: k, offset: (p.key as Node).range?.[0] ?? 0 })
        }
      }
    }
    collect(args.node, 0)
  } else if (isSeq(args.node)) {
    for (const item of args.node.items) {
      const v = follow(doc, item, undefined).node
      if (!isScalar(v) || typeof v.value !== 'string') continue
      const k = v.value.split('=')[0]!
      if (secret.test(k)) names.push({ name: k, offset: v.range?.[0] ?? 0 })
    }
  }
  return names.map(
    ({ name, offset }) =>
      `line ${lineColOf(text, offset).line}: services.${opts.service}.build.args passes ${name} as a build arg; build args stay in the image history (docker history), so the secret would ship with the image. Remove it: modelship passes HF_TOKEN as the build secret "hf_token" (RUN --mount=type=secret,id=hf_token).`,
  )
}

// ---------------------------------------------------------------------------------------------
// .env files

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

function splitLines(text: string): string[] {
  // Keeps each line's own ending, so CRLF and a missing final newline survive.
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
    if (i >= rest.length) throw new ModelshipError('BAD_INPUT', `${where}: the quoted value of ${key} does not end on its line`)
    return { head, quote: q, raw: rest.slice(1, i), tail: rest.slice(i + 1) }
  }
  const comment = /\s+#/.exec(rest)
  const value = comment ? rest.slice(0, comment.index) : rest
  const trimmed = value.replace(/\s+$/, '')
  return { head, quote: '', raw: trimmed, tail: value.slice(trimmed.length) + (comment ? rest.slice(comment.index) : '') }
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
    const isDefault = v.kind === 'default' || v.kind === 'env'
    out.push({
      line: i + 1,
      raw: e.raw,
      value: e.quote === "'" ? e.raw : modelOf(e.raw, v),
      form: isDefault ? 'default' : 'env',
      ...(isDefault ? { variable: v.variable } : {}),
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
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(opts.key)) throw new ModelshipError('CONFIG', `${JSON.stringify(opts.key)} is not a variable name`)
  const lines = splitLines(text)
  const changes: Change[] = []
  let occurrences = 0
  const out = lines.map((l, i) => {
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
    changes.push({ line: i + 1, before: line, after })
    return after + eol
  })
  let result = out.join('')
  if (occurrences === 0 && opts.appendIfMissing) {
    const eol = text.includes('\r\n') ? '\r\n' : '\n'
    const sep = result === '' || result.endsWith('\n') ? '' : eol
    const added = `${opts.key}=${opts.modelId}`
    result = `${result}${sep}${added}${eol}`
    changes.push({ line: splitLines(result).length, before: '', after: added })
    occurrences = 1
  }
  // Verify: every line now reads back the model.
  const back = readEnvFileModel(result, opts.key, opts.file)
  if (back.length !== occurrences || back.some((v) => v.value !== opts.modelId)) {
    throw new ModelshipError('BAD_INPUT', `${opts.file}: refusing to write the edit of ${opts.key}: it reads back as ${JSON.stringify(back.map((v) => v.value))}`)
  }
  return { text: result, changes, occurrences, alsoChanged: [] }
}

// ---------------------------------------------------------------------------------------------
// Diff

type Op = { op: ' ' | '-' | '+'; line: string }

function diffLines(a: string[], b: string[]): Op[] {
  let pre = 0
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++
  let suf = 0
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++
  const am = a.slice(pre, a.length - suf)
  const bm = b.slice(pre, b.length - suf)
  const mid: Op[] = []
  const n = am.length
  const m = bm.length
  if (n * m > 4_000_000) {
    // Too big for the quadratic table: show the middle as replaced.
    mid.push(...am.map((line) => ({ op: '-' as const, line })), ...bm.map((line) => ({ op: '+' as const, line })))
  } else {
    // LCS table from the end, then walk forward.
    const w = m + 1
    const lcs = new Uint32Array((n + 1) * w)
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = am[i] === bm[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!)
      }
    }
    let i = 0
    let j = 0
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        mid.push({ op: ' ', line: am[i]! })
        i++
        j++
      } else if (i < n && (j >= m || lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) mid.push({ op: '-', line: am[i++]! })
      else mid.push({ op: '+', line: bm[j++]! })
    }
  }
  return [
    ...a.slice(0, pre).map((line) => ({ op: ' ' as const, line })),
    ...mid,
    ...a.slice(a.length - suf).map((line) => ({ op: ' ' as const, line })),
  ]
}

/** A unified diff (`--- a/path`, `+++ b/path`, hunks with 3 lines of context); '' when equal. */
export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  if (before === after) return ''
  const ops = diffLines(splitLines(before), splitLines(after))
  const out = [`--- a/${path}`, `+++ b/${path}`]
  const changed = ops.map((o, i) => (o.op === ' ' ? -1 : i)).filter((i) => i >= 0)
  let k = 0
  while (k < changed.length) {
    const first = changed[k]!
    let last = first
    while (k + 1 < changed.length && changed[k + 1]! - last <= 2 * context) last = changed[++k]!
    k++
    const from = Math.max(0, first - context)
    const to = Math.min(ops.length, last + context + 1)
    // Line numbers: count the lines of each side before the hunk.
    let aStart = 0
    let bStart = 0
    for (const o of ops.slice(0, from)) {
      if (o.op !== '+') aStart++
      if (o.op !== '-') bStart++
    }
    const hunk = ops.slice(from, to)
    const aLen = hunk.filter((o) => o.op !== '+').length
    const bLen = hunk.filter((o) => o.op !== '-').length
    const range = (start: number, len: number) => (len === 1 ? `${start + 1}` : `${len === 0 ? start : start + 1},${len}`)
    out.push(`@@ -${range(aStart, aLen)} +${range(bStart, bLen)} @@`)
    for (const o of hunk) {
      out.push(`${o.op}${o.line.replace(/\r?\n$/, '')}`)
      if (!o.line.endsWith('\n')) out.push('\\ No newline at end of file')
    }
  }
  return `${out.join('\n')}\n`
}
