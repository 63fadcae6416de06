import { isDeepStrictEqual } from 'node:util'
import { isCollection, parseDocument, Scalar, visit, type Document, type Node } from 'yaml'
import { ModelshipError } from '../engine/errors.js'

// Writing a new value in the style of the one it replaces: same quotes, plain when plain reads back
// the same, never a block scalar.

function plainIsSafe(s: string, inFlow: boolean): boolean {
  if (s === '' || s.trim() !== s) return false
  const probe = inFlow ? `[${s}]` : `k: ${s}`
  const doc = parseDocument(probe)
  if (doc.errors.length > 0 || doc.warnings.length > 0) return false
  const js: unknown = doc.toJS()
  return inFlow ? isDeepStrictEqual(js, [s]) : isDeepStrictEqual(js, { k: s })
}

/** YAML source for the string `s` as a scalar of the given style. */
export function renderScalar(s: string, type: Scalar['type'], inFlow: boolean, where: string): string {
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

/** Scalars inside a flow collection: plain text that is fine in a block can be invalid inside [ ] or { }. */
export function flowScalars(doc: Document.Parsed): WeakSet<Node> {
  const set = new WeakSet<Node>()
  visit(doc, {
    Scalar(_, node, path) {
      if (path.some((p) => isCollection(p) && p.flow === true)) set.add(node)
    },
  })
  return set
}
