import { isAlias, isMap, isScalar, isSeq, Scalar, type Document, type Node, type Pair, type YAMLMap } from 'yaml'
import { ModelshipError } from '../engine/errors.js'

// Finding, in a parsed compose document, every node that sets the model variable of one service —
// the way docker compose reads it: through aliases and merge keys, an own key shadowing merged ones,
// a `!reset` node counting as absent.

/** Which file, service and variable an edit or a read is about. */
export interface ComposeTarget {
  file: string
  service: string
  /** The variable that names the model (deploy.build_arg, e.g. HF_INTENT_MODEL). */
  buildArg: string
}

/** Where in the service the variable is set: the image build (`build.args`) or the process (`environment`). */
export type ComposeKind = 'build_arg' | 'environment'

/** The key path of each kind under `services.<service>`. */
export const SECTIONS: ReadonlyArray<{ kind: ComposeKind; keys: readonly string[] }> = [
  { kind: 'build_arg', keys: ['build', 'args'] },
  { kind: 'environment', keys: ['environment'] },
]

export interface Located {
  node: Node | null
  /** The anchor of the alias/merge key last followed to reach the node. */
  anchor: string | undefined
}

/** One place the variable is set. */
export interface Occurrence {
  kind: ComposeKind
  form: 'map' | 'list'
  /** The scalar holding the value (map form) or the `KEY=value` item (list form); null for `{KEY}` in a flow map. */
  scalar: Scalar | null
  /** map form: the pair (to insert a value into `{KEY}`). */
  pair?: Pair
  anchor: string | undefined
  /** Dotted path of the section, e.g. `services.app.build.args`. */
  section: string
}

export function follow(doc: Document.Parsed, node: unknown, anchor: string | undefined): Located {
  if (isAlias(node)) {
    const target = node.resolve(doc)
    return { node: (target as Node | undefined) ?? null, anchor: node.source }
  }
  return { node: (node as Node | null | undefined) ?? null, anchor }
}

export function keyOf(doc: Document.Parsed, key: unknown): string | undefined {
  const k = follow(doc, key, undefined).node
  return isScalar(k) && (typeof k.value === 'string' || typeof k.value === 'number') ? String(k.value) : undefined
}

export function isMergePair(pair: Pair): boolean {
  const k = pair.key
  // With `merge: true` yaml gives the plain `<<` key a symbol value; a quoted '<<' is an ordinary key.
  return isScalar(k) && (typeof k.value === 'symbol' || (k.value === '<<' && k.type === Scalar.PLAIN))
}

/**
 * The pair that gives `key` its value in `map`, as compose reads it: the map's own key wins over
 * merged ones; among merge sources (`<<: [*a, *b]`) the first that has the key wins.
 */
function lookup(
  doc: Document.Parsed,
  map: YAMLMap,
  key: string,
  anchor: string | undefined,
  seen = new Set<Node>(),
): { pair: Pair; anchor: string | undefined } | undefined {
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

/** The node at `services.<service>.<keys…>` (through aliases and merge keys), if any. */
export function sectionOf(doc: Document.Parsed, service: string, keys: readonly string[]): Located | undefined {
  let at: Located | undefined = follow(doc, doc.contents, undefined)
  for (const key of ['services', service, ...keys]) {
    at = at && child(doc, at, key)
    if (!at) return undefined
  }
  return at
}

/** A scalar's text as compose reads it. */
export function stringOf(node: Scalar): string {
  if (node.value === null || node.value === undefined) return ''
  // A plain `1.0` is the number 1 to YAML but the text "1.0" to a build arg.
  if (node.type === Scalar.PLAIN && typeof node.source === 'string') return node.source
  return String(node.value)
}

/** The value part of an occurrence: the map value, or what follows `KEY=` in a list item ('' for a bare `KEY`). */
export function rawValueOf(o: Occurrence): string {
  const whole = o.scalar ? stringOf(o.scalar) : ''
  if (o.form === 'map') return whole
  const eq = whole.indexOf('=')
  return eq < 0 ? '' : whole.slice(eq + 1)
}

function inSection(doc: Document.Parsed, t: ComposeTarget, kind: ComposeKind, keys: readonly string[]): Occurrence[] {
  const at = sectionOf(doc, t.service, keys)
  if (!at) return []
  const section = `services.${t.service}.${keys.join('.')}`
  if (isMap(at.node)) {
    const hit = lookup(doc, at.node, t.buildArg, at.anchor)
    if (!hit) return []
    const v = follow(doc, hit.pair.value, hit.anchor)
    if (isReset(v.node)) return []
    if (v.node !== null && !isScalar(v.node)) {
      throw new ModelshipError('BAD_INPUT', `${t.file}: ${section}.${t.buildArg} is not a single value`)
    }
    return [{ kind, form: 'map', scalar: v.node, pair: hit.pair, anchor: v.anchor, section }]
  }
  if (!isSeq(at.node)) return []
  const out: Occurrence[] = []
  for (const item of at.node.items) {
    const v = follow(doc, item, at.anchor)
    if (!isScalar(v.node) || typeof v.node.value !== 'string') continue
    const s = v.node.value
    if (s === t.buildArg || s.startsWith(`${t.buildArg}=`)) {
      out.push({ kind, form: 'list', scalar: v.node, anchor: v.anchor, section })
    }
  }
  return out
}

/** Every place `services.<service>` sets the variable, build args first, then the runtime environment. */
export function findOccurrences(doc: Document.Parsed, t: ComposeTarget): Occurrence[] {
  const out = SECTIONS.flatMap((s) => inSection(doc, t, s.kind, s.keys))
  // The same node reached twice (an alias listed twice, or one anchor shared by args and environment)
  // is one place in the text.
  return out.filter((o, i) => o.scalar === null || out.findIndex((p) => p.scalar === o.scalar) === i)
}
