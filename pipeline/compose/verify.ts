import { isDeepStrictEqual } from 'node:util'
import type { Document } from 'yaml'
import { ModelshipError } from '../engine/errors.js'
import { modelOf } from './interpolation.js'
import { findOccurrences, rawValueOf, type ComposeTarget } from './locate.js'
import { parseCompose, TO_JS } from './yaml-source.js'

// The check after every splice: the edited text must parse, read back the model at every place,
// and equal the expected document everywhere else. A result that fails is never written.

export function verifyEdit(
  out: string,
  expected: unknown,
  count: number,
  t: ComposeTarget & { modelId: string },
): void {
  const fail = (why: string, cause?: unknown) =>
    new ModelshipError('BAD_INPUT', `${t.file}: refusing to write the edit of ${t.buildArg}: ${why}`, {
      hint: `set ${t.buildArg} to ${t.modelId} by hand, or simplify that part of the file`,
      ...(cause === undefined ? {} : { cause }),
    })
  let doc: Document.Parsed
  try {
    doc = parseCompose(out, t.file)
  } catch (e) {
    throw fail('the result does not parse', e)
  }
  const values = findOccurrences(doc, t).map((o) => modelOf(rawValueOf(o)))
  if (values.length !== count || values.some((v) => v !== t.modelId)) {
    throw fail(`it reads back as ${JSON.stringify(values)}`)
  }
  if (!isDeepStrictEqual(doc.toJS(TO_JS), expected)) throw fail('something else in the document would change')
}

/** Dotted paths (`a.b[0].c`) where two JSON-like values differ. */
export function changedPaths(a: unknown, b: unknown, path = ''): string[] {
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
