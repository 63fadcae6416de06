import { Scalar, type Node } from 'yaml'
import { assertValidModelRef } from '../registry/version.js'
import { modelOf, parseArgValue, variableOf, withModel } from './interpolation.js'
import { findOccurrences, rawValueOf, stringOf, type ComposeKind, type ComposeTarget } from './locate.js'
import { flowScalars, renderScalar } from './render.js'
import type { Change, EditResult } from './types.js'
import { changedPaths, verifyEdit } from './verify.js'
import { lineAt, lineColOf, parseCompose, parseComposeForReading, TO_JS } from './yaml-source.js'

// Pure text edits of the user's compose files. The rule: parse to FIND the value, then splice the
// new characters into the ORIGINAL text at the node's range and re-parse to verify. Never
// `doc.toString()`: it reflows comments, quoting and line endings of the whole file.

export type { ComposeKind, ComposeTarget } from './locate.js'
export type { Change, EditResult, ModelPlaceKind } from './types.js'
// tasks/preflight.ts imports the lint from here; new code imports it from ./secret-lint.js.
export { findBuildArgAsSecretWarning } from './secret-lint.js'

export interface ConfiguredValue {
  kind: ComposeKind
  line: number
  /** The value as written (unquoted, without `KEY=`), e.g. `${HF_INTENT_MODEL:-mdeberta}` or `pratikoai/x-v1.0`. */
  raw: string
  /** The model: the value, or for `${VAR:-default}` the default. */
  value: string
  form: 'map' | 'list' | 'default'
  /** For `${VAR:-default}`: VAR. */
  variable?: string
  /** Set when the value lives in an anchored node (see Change.anchor). */
  anchor?: string
}

/**
 * Every place `services.<service>` sets the variable in this compose file — `build.args` and the
 * runtime `environment`, map or list form — in file order.
 */
export function readComposeModel(text: string, t: ComposeTarget): ConfiguredValue[] {
  const doc = parseComposeForReading(text, t.file)
  return findOccurrences(doc, t)
    .map((o) => {
      const offset = o.scalar?.range?.[0] ?? (o.pair?.key as Node | undefined)?.range?.[0] ?? 0
      const raw = rawValueOf(o)
      const v = parseArgValue(raw)
      const variable = variableOf(v)
      const value: ConfiguredValue = {
        kind: o.kind,
        line: lineColOf(text, offset).line,
        raw,
        value: modelOf(raw, v),
        form: variable ? 'default' : o.form,
        ...(variable ? { variable } : {}),
        ...(o.anchor ? { anchor: o.anchor } : {}),
      }
      return { offset, value }
    })
    .sort((a, b) => a.offset - b.offset)
    .map((x) => x.value)
}

interface Splice {
  start: number
  end: number
  text: string
  kind: ComposeKind
  anchor: string | undefined
}

/**
 * Sets the variable of `services.<service>` to `modelId` everywhere it is set in a compose file's
 * text: `build.args` and the runtime `environment`, map form, list form (`- KEY=value`),
 * `${KEY:-default}` (only the default), quoted or not, flow collections, tagged (`!override`,
 * `!reset`) nodes and anchors reached through aliases or merge keys (the anchor's text is edited;
 * `alsoChanged` lists what else shares it). Only the value's characters change. Throws BAD_INPUT for
 * an invalid model id (before anything else) or a file that does not parse, and refuses any result
 * that does not read back exactly as intended.
 */
export function editComposeModel(
  text: string,
  opts: ComposeTarget & { modelId: string; baseAliases: readonly string[] },
): EditResult {
  assertValidModelRef(opts.modelId, opts.baseAliases)
  const doc = parseCompose(text, opts.file)
  const occurrences = findOccurrences(doc, opts)
  const inFlow = flowScalars(doc)
  const before: unknown = doc.toJS(TO_JS)

  const splices: Splice[] = []
  for (const o of occurrences) {
    const where = `${opts.file}: ${o.section}.${opts.buildArg}`
    if (o.scalar === null) {
      // `{ KEY }` in a flow map: insert `: value` after the key.
      const at = (o.pair!.key as Node).range![1]
      const value = renderScalar(opts.modelId, Scalar.PLAIN, true, where)
      splices.push({ start: at, end: at, text: `: ${value}`, kind: o.kind, anchor: o.anchor })
      o.pair!.value = new Scalar(opts.modelId) // the expected document, for the check below
      continue
    }
    const old = stringOf(o.scalar)
    const value = withModel(rawValueOf(o), opts.modelId, where)
    const next = o.form === 'map' ? value : `${opts.buildArg}=${value}`
    if (next === old && typeof o.scalar.value === 'string') continue
    const [start, end] = o.scalar.range!
    let src = renderScalar(next, o.scalar.type, inFlow.has(o.scalar), where)
    // An empty value (`KEY:`) gets a space after the colon (or after a tag such as `!!str`), and one
    // before a comment that follows it (`KEY: # note`: the empty value's range starts at the `#`).
    if (start === end && start > 0 && !/\s/.test(text[start - 1] ?? '')) src = ` ${src}`
    if (start === end && text[end] === '#') src = `${src} `
    splices.push({ start, end, text: src, kind: o.kind, anchor: o.anchor })
    o.scalar.value = next // mutate the parsed original: its toJS() is the expected result
  }

  let out = text
  for (const s of [...splices].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, s.start) + s.text + out.slice(s.end)
  }

  const expected: unknown = doc.toJS(TO_JS)
  if (splices.length > 0) verifyEdit(out, expected, occurrences.length, opts)

  const own = occurrences.map((o) => o.section)
  const alsoChanged = changedPaths(before, expected).filter(
    (p) => !own.some((s) => p === `${s}.${opts.buildArg}` || p.startsWith(`${s}[`)),
  )
  return { text: out, changes: changesOf(text, out, splices), occurrences: occurrences.length, alsoChanged }
}

/** One entry per edited line, in file order; `delta` maps an original offset into the new text. */
function changesOf(text: string, out: string, splices: readonly Splice[]): Change[] {
  const changes: Change[] = []
  let delta = 0
  for (const s of [...splices].sort((a, b) => a.start - b.start)) {
    const line = lineColOf(text, s.start).line
    const after = lineAt(out, s.start + delta)
    delta += s.text.length - (s.end - s.start)
    const prev = changes.at(-1)
    if (prev?.line === line) prev.after = after
    else {
      const before = lineAt(text, s.start)
      changes.push({ kind: s.kind, line, before, after, ...(s.anchor ? { anchor: s.anchor } : {}) })
    }
  }
  return changes
}
