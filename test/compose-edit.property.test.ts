import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import { editComposeModel, readComposeModel } from '../pipeline/compose/edit.js'
import { changedPaths } from '../pipeline/compose/verify.js'

// Property test of the compose editor. The generator writes compose documents line by line, and
// for each line it also writes the line it expects after setting the model: the model's own places
// (build args and runtime environment, map and list forms, quoted or not, `${VAR:-default}`, tags,
// values in an anchored block merged with `<<:`) change, every other line stays. So the edit must
// produce exactly the expected bytes; the parsed document may differ only at the model's places
// (or where the service shares an edited anchor, reported in alsoChanged); editing again is a no-op.

const M = 'pratikoai/intent-classifier-v2.3'
const KEY = 'HF_INTENT_MODEL'
const target = {
  file: 'docker-compose.yml',
  service: 'app',
  buildArg: KEY,
  modelId: M,
  baseAliases: ['mdeberta', 'bart'],
}

interface Line {
  before: string
  after: string
}
const same = (text: string): Line => ({ before: text, after: text })

/** A map value as written before and after the edit (`KEY:<sep><value>`). */
const mapValue = fc.constantFrom<Line>(
  { before: ' mdeberta', after: ` ${M}` },
  { before: ' pratikoai/intent-classifier-v0.9', after: ` ${M}` },
  { before: ' "mdeberta"', after: ` "${M}"` },
  { before: " 'bart'", after: ` '${M}'` },
  { before: ' ${HF_INTENT_MODEL:-mdeberta}', after: ` \${HF_INTENT_MODEL:-${M}}` },
  { before: " '${HF_INTENT_MODEL-bart}'", after: ` '\${HF_INTENT_MODEL-${M}}'` },
  { before: ' ${HF_INTENT_MODEL}', after: ` \${HF_INTENT_MODEL:-${M}}` },
  { before: ' !!str mdeberta', after: ` !!str ${M}` },
  { before: '', after: ` ${M}` },
  { before: ` ${M}`, after: ` ${M}` },
)

/** A list item after `- `, before and after. */
const listItem = fc.constantFrom<Line>(
  { before: `${KEY}=mdeberta`, after: `${KEY}=${M}` },
  { before: `"${KEY}=\${${KEY}:-mdeberta}"`, after: `"${KEY}=\${${KEY}:-${M}}"` },
  { before: `'${KEY}=\${${KEY}-bart}'`, after: `'${KEY}=\${${KEY}-${M}}'` },
  { before: KEY, after: `${KEY}=${M}` },
  { before: `${KEY}=`, after: `${KEY}=${M}` },
  { before: `${KEY}=${M}`, after: `${KEY}=${M}` },
)

const comment = fc.constantFrom('', '  # set by modelship', ' # keep: in sync')
const otherName = fc.constantFrom(
  'APP_ENV',
  'LOG_LEVEL',
  'PYTHON_VERSION',
  'HF_INTENT_MODEL_REVISION',
  'MY_HF_INTENT_MODEL',
)
const otherValue = fc.constantFrom('production', '"3.12"', "'info'", '${LOG_LEVEL:-info}', 'mdeberta', '1.10')

interface SectionSpec {
  form: 'map' | 'list'
  tag: string
  others: Array<[string, string, string]>
  /** Where the model entry goes among the others; undefined when the section does not set it. */
  modelAt: number | undefined
  mapValue: Line
  listItem: Line
  comment: string
  /** map form: merge the shared anchored block first. */
  merge: boolean
  headComment: boolean
}

const section = fc.record({
  form: fc.constantFrom<'map' | 'list'>('map', 'list'),
  tag: fc.constantFrom('', ' !override'),
  others: fc.array(fc.tuple(otherName, otherValue, comment), { maxLength: 3 }),
  modelAt: fc.option(fc.nat(3), { nil: undefined }),
  mapValue,
  listItem,
  comment,
  merge: fc.boolean(),
  headComment: fc.boolean(),
})

/**
 * One line holding the model: `head`, the value, a comment. An empty value followed by a comment
 * (`KEY:  # note`) gets the model and one space in front of the `#`: the comment keeps its bytes.
 */
function valueLine(head: string, v: Line, comment: string, edited: boolean): Line {
  const before = `${head}${v.before}${comment}`
  if (!edited) return { before, after: before }
  if (v.before === '' && comment !== '') {
    const gap = /^\s*/.exec(comment)![0]
    return { before, after: `${head}${gap}${M} ${comment.slice(gap.length)}` }
  }
  return { before, after: `${head}${v.after}${comment}` }
}

/** The lines of one section (`args:` or `environment:`) at `indent`; `edited` says whether its model entry changes. */
function sectionLines(name: string, indent: string, s: SectionSpec, edited: boolean): Line[] {
  const inner = `${indent}  `
  const lines: Line[] = [same(`${indent}${name}:${s.tag}`)]
  if (s.headComment) lines.push(same(`${inner}# ${name}: the model must match everywhere`))
  if (s.form === 'map' && s.merge) lines.push(same(`${inner}<<: *shared`))
  const entries: Line[] = s.others.map(([k, v, c]) =>
    same(s.form === 'map' ? `${inner}${k}: ${v}${c}` : `${inner}- ${k}=${v}${c}`),
  )
  if (s.modelAt !== undefined) {
    const v = s.form === 'map' ? s.mapValue : s.listItem
    const head = s.form === 'map' ? `${inner}${KEY}:` : `${inner}- `
    const line = valueLine(head, v, s.comment, edited)
    entries.splice(Math.min(s.modelAt, entries.length), 0, line)
  }
  if (entries.length === 0 && !(s.form === 'map' && s.merge))
    entries.push(same(s.form === 'map' ? `${inner}X: y` : `${inner}- X=y`))
  // A map section cannot hold the same key twice: the others are unique by construction below.
  return [...lines, ...entries]
}

const documentSpec = fc.record({
  eol: fc.constantFrom('\n', '\r\n'),
  finalNewline: fc.boolean(),
  topComment: fc.boolean(),
  shared: fc.option(fc.record({ model: fc.option(mapValue, { nil: undefined }), comment }), { nil: undefined }),
  args: fc.option(section, { nil: undefined }),
  environment: fc.option(section, { nil: undefined }),
  worker: fc.boolean(),
})

type DocumentSpec = typeof documentSpec extends fc.Arbitrary<infer T> ? T : never

function uniqueOthers(s: SectionSpec | undefined): SectionSpec | undefined {
  if (!s) return s
  const seen = new Set<string>()
  return { ...s, others: s.others.filter(([k]) => !seen.has(k) && seen.add(k) !== undefined) }
}

/** The document before and after, and what the editor must report. */
function build(spec: DocumentSpec) {
  const args = uniqueOthers(spec.args)
  const environment = uniqueOthers(spec.environment)
  const envMerges = environment?.form === 'map' && environment.merge && spec.shared !== undefined
  const lines: Line[] = []
  if (spec.topComment) lines.push(same('# generated compose file'))
  if (spec.shared) {
    lines.push(same('x-shared: &shared'))
    // The shared block is edited only when the app's environment merges it and does not set the key itself.
    const sharedEdited = envMerges && environment.modelAt === undefined
    if (spec.shared.model) {
      lines.push(valueLine(`  ${KEY}:`, spec.shared.model, spec.shared.comment, sharedEdited))
    }
    lines.push(same('  LOG_LEVEL: info'))
  }
  lines.push(same('services:'), same('  app:'))
  if (args)
    lines.push(
      same('    build:'),
      same('      context: .'),
      ...sectionLines('args', '      ', { ...args, merge: false }, true),
    )
  else lines.push(same('    image: app:latest'))
  if (environment) {
    const merged = { ...environment, merge: envMerges }
    lines.push(...sectionLines('environment', '    ', merged, true))
  }
  if (spec.worker) {
    lines.push(same('  worker:'), same('    image: worker'), same('    environment:'))
    if (spec.shared) lines.push(same('      <<: *shared'))
    lines.push(same(`      ${KEY}: not-this-service`))
  }
  const join = (side: 'before' | 'after') =>
    lines.map((l) => l[side]).join(spec.eol) + (spec.finalNewline ? spec.eol : '')
  return { before: join('before'), after: join('after') }
}

const ownPlace = /^services\.app\.(build\.args|environment)(\.HF_INTENT_MODEL|\[\d+\])$/
const sharedPlaces = ['x-shared.HF_INTENT_MODEL', 'services.worker.environment.HF_INTENT_MODEL']

describe('compose editor properties', () => {
  it('changes exactly the model places, keeps every other byte, and is idempotent', () => {
    fc.assert(
      fc.property(documentSpec, (spec) => {
        const { before, after } = build(spec)
        const result = editComposeModel(before, target)
        expect(result.text).toBe(after)

        // The parsed document differs only at the model's places, or where an edited anchor is shared.
        const toJS = (text: string): unknown => parseDocument(text, { merge: true }).toJS({ maxAliasCount: 10_000 })
        for (const path of changedPaths(toJS(before), toJS(result.text))) {
          expect(ownPlace.test(path) || result.alsoChanged.includes(path), path).toBe(true)
        }
        for (const path of result.alsoChanged) expect(sharedPlaces).toContain(path)

        // Every place reads back the model, and a second identical edit changes nothing.
        const places = readComposeModel(result.text, target)
        expect(places).toHaveLength(result.occurrences)
        for (const p of places) expect(p.value).toBe(M)
        const again = editComposeModel(result.text, target)
        expect(again.text).toBe(result.text)
        expect(again.changes).toEqual([])
      }),
      { numRuns: 300 },
    )
  })
})
