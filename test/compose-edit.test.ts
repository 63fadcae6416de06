import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { unifiedDiff } from '../pipeline/compose/diff.js'
import { editComposeModel, readComposeModel } from '../pipeline/compose/edit.js'
import { findBuildArgAsSecretWarning } from '../pipeline/compose/secret-lint.js'
import { ModelshipError } from '../pipeline/engine/errors.js'

// Golden files: test/fixtures/compose/<case>/input.yml and the exact bytes expected after setting
// the model (expected.yml) or the exact error (expected-error.txt). Review a changed golden file
// like code; regenerate with UPDATE_GOLDEN=1 npx vitest run test/compose-edit.test.ts.

const FIXTURES = fileURLToPath(new URL('./fixtures/compose/', import.meta.url))
const MODEL = 'pratikoai/intent-classifier-v1.0'
const BASE_ALIASES = ['mdeberta', 'bart']
const target = { file: 'input.yml', service: 'app', buildArg: 'HF_INTENT_MODEL' }
const edit = (text: string, modelId = MODEL) =>
  editComposeModel(text, { ...target, modelId, baseAliases: BASE_ALIASES })

/** `<kind> <form>` of one place that sets the model, as readComposeModel reports it. */
type Place = `${'build_arg' | 'environment'} ${'map' | 'list' | 'default'}`

interface Case {
  /** Every place that sets the model, in file order (none when absent). */
  places?: Place[]
  /** Anchor reported on the change (the text lives in an anchored node). */
  anchor?: string
  alsoChanged?: string[]
  error?: true
}

const CASES: Record<string, Case> = {
  map: { places: ['build_arg map'] },
  list: { places: ['build_arg list'] },
  'quoted-list': { places: ['build_arg list'] },
  'default-colon-dash': { places: ['build_arg default', 'environment default'] },
  'default-dash': { places: ['build_arg default'] },
  'env-no-default': { places: ['build_arg default'] },
  'flow-map': { places: ['build_arg map'] },
  'flow-seq': { places: ['build_arg list'] },
  'single-quoted': { places: ['build_arg map'] },
  'double-quoted': { places: ['build_arg map'] },
  'override-tag': { places: ['build_arg map'] },
  'reset-tag': { places: ['build_arg default'] },
  'merge-key': {
    places: ['build_arg map'],
    anchor: 'app-build',
    alsoChanged: ['x-app-build.args.HF_INTENT_MODEL', 'services.worker.build.args.HF_INTENT_MODEL'],
  },
  alias: { places: ['build_arg list'], anchor: 'model-args', alsoChanged: ['x-args[0]'] },
  'anchors-on-value': { places: ['build_arg map'], alsoChanged: ['services.app.environment.MODEL_NAME'] },
  crlf: { places: ['build_arg map'] },
  comments: { places: ['build_arg map'] },
  'several-services': { places: ['build_arg map'] },
  'null-value': { places: ['build_arg map'] },
  'null-list': { places: ['build_arg list'] },
  'already-set': { places: ['build_arg map'] },
  'no-service': {},
  'build-string': { places: ['environment map'] },
  'env-map': { places: ['build_arg map', 'environment map'] },
  'env-map-quoted': { places: ['build_arg map', 'environment default'] },
  'env-list': { places: ['build_arg default', 'environment default'] },
  'env-list-quoted': { places: ['build_arg default', 'environment default'] },
  'env-crlf': { places: ['build_arg list', 'environment default'] },
  'env-merge-key': {
    places: ['environment map', 'build_arg map'],
    anchor: 'model-env',
    alsoChanged: ['x-model-env.HF_INTENT_MODEL', 'services.worker.environment.HF_INTENT_MODEL'],
  },
  'syntax-error': { error: true },
  'unresolved-anchor': { error: true },
}

const dirs = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'input.yml')))

describe('golden compose edits', () => {
  it('every fixture folder has expectations here, and every case a folder', () => {
    expect([...dirs].sort()).toEqual(Object.keys(CASES).sort())
  })

  for (const dir of dirs) {
    const c = CASES[dir] ?? {}
    const input = readFileSync(join(FIXTURES, dir, 'input.yml'), 'utf8')
    const expectedFile = join(FIXTURES, dir, c.error ? 'expected-error.txt' : 'expected.yml')

    if (c.error) {
      it(`${dir}: BAD_INPUT with file:line:col, nothing edited`, () => {
        let error: unknown
        try {
          edit(input)
        } catch (e) {
          error = e
        }
        expect(error).toBeInstanceOf(ModelshipError)
        const e = error as ModelshipError
        if (process.env.UPDATE_GOLDEN) writeFileSync(expectedFile, `${e.message}\n`)
        expect(e.code).toBe('BAD_INPUT')
        expect(e.exitCode).toBe(2)
        expect(e.message).toMatch(/^input\.yml:\d+:\d+: YAML error: /)
        expect(`${e.message}\n`).toBe(readFileSync(expectedFile, 'utf8'))
        // Reading fails the same way (preflight sees it before anything runs).
        expect(() => readComposeModel(input, target)).toThrow(e.message)
      })
      continue
    }

    it(`${dir}: matches expected.yml byte for byte`, () => {
      const result = edit(input)
      if (process.env.UPDATE_GOLDEN) writeFileSync(expectedFile, result.text)
      const expected = readFileSync(expectedFile, 'utf8')
      expect(result.text).toBe(expected)
      expect(result.occurrences).toBe(c.places?.length ?? 0)
      expect(result.alsoChanged).toEqual(c.alsoChanged ?? [])

      // Only the reported lines differ, each keeps its line ending, and the line count is unchanged.
      const before = input.split('\n')
      const after = expected.split('\n')
      expect(after).toHaveLength(before.length)
      const differing = before.flatMap((l, i) => (l === after[i] ? [] : [i + 1]))
      expect(result.changes.map((ch) => ch.line)).toEqual(differing)
      for (const ch of result.changes) {
        expect(ch.before).toBe(before[ch.line - 1]!.replace(/\r$/, ''))
        expect(ch.after).toBe(after[ch.line - 1]!.replace(/\r$/, ''))
        if (ch.anchor !== undefined) expect(ch.anchor).toBe(c.anchor)
      }
      if (c.anchor) expect(result.changes.some((ch) => ch.anchor === c.anchor)).toBe(true)
      expect(after.map((l) => l.endsWith('\r'))).toEqual(before.map((l) => l.endsWith('\r')))
      if (!c.places || dir === 'already-set') expect(result.changes).toEqual([])
      else expect(result.changes.length).toBeGreaterThan(0)
    })

    it(`${dir}: editing again changes nothing (idempotent)`, () => {
      const once = edit(input)
      const twice = edit(once.text)
      expect(twice.text).toBe(once.text)
      expect(twice.changes).toEqual([])
      expect(twice.occurrences).toBe(once.occurrences)
    })

    it(`${dir}: readComposeModel reads the model back`, () => {
      const read = readComposeModel(readFileSync(expectedFile, 'utf8'), target)
      expect(read.map((r) => `${r.kind} ${r.form}`)).toEqual(c.places ?? [])
      for (const r of read) expect(r.value).toBe(MODEL)
      if (c.anchor) expect(read.some((r) => r.anchor === c.anchor)).toBe(true)
    })
  }
})

describe('readComposeModel', () => {
  const read = (dir: string) => readComposeModel(readFileSync(join(FIXTURES, dir, 'input.yml'), 'utf8'), target)

  it('reports value, raw text, form and the variable of ${VAR:-default}', () => {
    expect(read('map')).toEqual([{ kind: 'build_arg', line: 9, raw: 'mdeberta', value: 'mdeberta', form: 'map' }])
    expect(read('list')).toEqual([{ kind: 'build_arg', line: 7, raw: 'mdeberta', value: 'mdeberta', form: 'list' }])
    expect(read('default-colon-dash')).toEqual([
      {
        kind: 'build_arg',
        line: 6,
        raw: '${HF_INTENT_MODEL:-mdeberta}',
        value: 'mdeberta',
        form: 'default',
        variable: 'HF_INTENT_MODEL',
      },
      {
        kind: 'environment',
        line: 8,
        raw: '${HF_INTENT_MODEL:-mdeberta}',
        value: 'mdeberta',
        form: 'default',
        variable: 'HF_INTENT_MODEL',
      },
    ])
    expect(read('default-dash')).toEqual([
      {
        kind: 'build_arg',
        line: 6,
        raw: '${HF_INTENT_MODEL-mdeberta}',
        value: 'mdeberta',
        form: 'default',
        variable: 'HF_INTENT_MODEL',
      },
    ])
    expect(read('env-no-default')).toEqual([
      {
        kind: 'build_arg',
        line: 5,
        raw: '${HF_INTENT_MODEL}',
        value: '',
        form: 'default',
        variable: 'HF_INTENT_MODEL',
      },
    ])
    expect(read('null-value')).toEqual([{ kind: 'build_arg', line: 6, raw: '', value: '', form: 'map' }])
    expect(read('null-list')).toEqual([{ kind: 'build_arg', line: 6, raw: '', value: '', form: 'list' }])
    expect(read('merge-key')).toEqual([
      { kind: 'build_arg', line: 4, raw: 'mdeberta', value: 'mdeberta', form: 'map', anchor: 'app-build' },
    ])
    expect(read('no-service')).toEqual([])
    expect(read('build-string')).toEqual([
      { kind: 'environment', line: 5, raw: 'mdeberta', value: 'mdeberta', form: 'map' },
    ])
    expect(read('env-list-quoted').map((r) => [r.kind, r.line, r.value])).toEqual([
      ['build_arg', 6, 'mdeberta'],
      ['environment', 9, 'mdeberta'],
    ])
  })

  it('a plain number is read as written', () => {
    const text = 'services:\n  app:\n    build:\n      args:\n        HF_INTENT_MODEL: 1.10\n'
    expect(readComposeModel(text, target)[0]!.value).toBe('1.10')
  })
})

describe('editComposeModel', () => {
  it.each([
    ['newline injection', 'evil\nx: y'],
    ['shell separator', 'a/b; rm -rf /'],
    ['command substitution', '$(id)'],
    ['quote', 'a/b"'],
    ['sql-ish', "' or 1"],
    ['path traversal', '../../etc'],
    ['space', 'a/b c'],
    ['unicode', 'pratikoai/intent-clässifier-v1.0'],
    ['zero-width', 'pratikoai/intent\u200b-classifier'],
    ['interpolation', 'a/${HOME}'],
    ['empty', ''],
    ['no org', 'intent-classifier-v1.0'],
    ['yaml flow', 'a/b, c: d}'],
  ])('rejects a %s model id before reading the file', (_, id) => {
    const input = readFileSync(join(FIXTURES, 'map', 'input.yml'), 'utf8')
    expect(() => edit(input, id)).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT', message: expect.stringContaining('is not a model id') }),
    )
    // Even a broken file reports the model id first: the id is checked before anything else.
    expect(() => edit('services: [', id)).toThrow(/is not a model id/)
  })

  it('accepts base aliases', () => {
    const input = readFileSync(join(FIXTURES, 'default-colon-dash', 'expected.yml'), 'utf8')
    const back = edit(input, 'mdeberta')
    expect(back.text).toBe(readFileSync(join(FIXTURES, 'default-colon-dash', 'input.yml'), 'utf8'))
  })

  it('sets every occurrence in the list form', () => {
    const text =
      'services:\n  app:\n    build:\n      args:\n        - HF_INTENT_MODEL=a/b\n        - OTHER=1\n        - ' +
      'HF_INTENT_MODEL=c/d\n'
    const r = edit(text)
    expect(r.occurrences).toBe(2)
    expect(r.text).toBe(
      `services:\n  app:\n    build:\n      args:\n        - HF_INTENT_MODEL=${MODEL}\n        - OTHER=1\n        - ` +
        `HF_INTENT_MODEL=${MODEL}\n`,
    )
    expect(r.changes.map((c) => c.line)).toEqual([5, 7])
  })

  it("a service's own key shadows the merged one: only the own one is edited", () => {
    const text = [
      'x-b: &b',
      '  HF_INTENT_MODEL: base/model',
      '  PYTHON_VERSION: "3.12"',
      'services:',
      '  app:',
      '    build:',
      '      context: .',
      '      args:',
      '        <<: *b',
      '        HF_INTENT_MODEL: own/model',
      '',
    ].join('\n')
    const r = edit(text)
    expect(r.occurrences).toBe(1)
    expect(r.text).toBe(text.replace('own/model', MODEL))
    expect(r.alsoChanged).toEqual([])
    expect(readComposeModel(text, target)).toEqual([
      { kind: 'build_arg', line: 10, raw: 'own/model', value: 'own/model', form: 'map' },
    ])
  })

  it('with several merge sources the first that has the key wins', () => {
    const text = [
      'x-a: &a',
      '  args: { HF_INTENT_MODEL: first/one }',
      'x-b: &b',
      '  args: { HF_INTENT_MODEL: second/one }',
      'services:',
      '  app:',
      '    build:',
      '      <<: [*a, *b]',
      '',
    ].join('\n')
    const r = edit(text)
    expect(r.text).toBe(text.replace('first/one', MODEL))
    expect(r.changes[0]!.anchor).toBe('a')
  })

  it('a service that is itself an alias of another service edits the shared node', () => {
    const text = 'services:\n  base: &svc\n    build:\n      args:\n        HF_INTENT_MODEL: a/b\n  app: *svc\n'
    const r = edit(text)
    expect(r.text).toBe(text.replace('a/b', MODEL))
    expect(r.changes[0]!.anchor).toBe('svc')
    expect(r.alsoChanged).toEqual(['services.base.build.args.HF_INTENT_MODEL'])
  })

  it('quotes a plain flow value only when the new value needs it', () => {
    const text = 'services:\n  app:\n    build: { args: [HF_INTENT_MODEL=$HF_INTENT_MODEL, X=1] }\n'
    const r = edit(text)
    expect(r.text).toBe(
      `services:\n  app:\n    build: { args: ["HF_INTENT_MODEL=\${HF_INTENT_MODEL:-${MODEL}}", X=1] }\n`,
    )
  })

  it('changes only the innermost default of nested defaults', () => {
    const text =
      'services:\n  app:\n    build:\n      args:\n        HF_INTENT_MODEL: ' +
      '${HF_INTENT_MODEL:-${MODEL_FALLBACK-mdeberta}}\n'
    expect(edit(text).text).toBe(text.replace('mdeberta', MODEL))
    expect(readComposeModel(text, target)[0]).toMatchObject({ value: 'mdeberta', variable: 'HF_INTENT_MODEL' })
  })

  it('fills a key without value in a flow map, and an empty value in a CRLF file', () => {
    const flow = 'services:\n  app:\n    build: { args: { HF_INTENT_MODEL, X: y } }\n'
    expect(edit(flow).text).toBe(`services:\n  app:\n    build: { args: { HF_INTENT_MODEL: ${MODEL}, X: y } }\n`)
    const crlf = 'services:\r\n  app:\r\n    build:\r\n      args:\r\n        HF_INTENT_MODEL:\r\n        X: y\r\n'
    expect(edit(crlf).text).toBe(crlf.replace('HF_INTENT_MODEL:\r\n', `HF_INTENT_MODEL: ${MODEL}\r\n`))
  })

  it('fills an empty value followed by a comment, keeping the comment (found by the property test)', () => {
    const text = 'services:\n  app:\n    environment:\n      HF_INTENT_MODEL:  # filled by modelship\n'
    expect(edit(text).text).toBe(
      `services:\n  app:\n    environment:\n      HF_INTENT_MODEL:  ${MODEL} # filled by modelship\n`,
    )
  })

  it('edits the runtime environment of the service only, not look-alike keys or other services', () => {
    const text = [
      'services:',
      '  app:',
      '    environment:',
      '      - HF_INTENT_MODEL_REVISION=main',
      '      - MY_HF_INTENT_MODEL=x/y',
      '      - HF_INTENT_MODEL=a/b',
      '  worker:',
      '    environment: [HF_INTENT_MODEL=c/d]',
      '',
    ].join('\n')
    const r = edit(text)
    expect(r.text).toBe(text.replace('=a/b', `=${MODEL}`))
    expect(r.changes).toEqual([
      {
        kind: 'environment',
        line: 6,
        before: '      - HF_INTENT_MODEL=a/b',
        after: `      - HF_INTENT_MODEL=${MODEL}`,
      },
    ])
  })

  it('refuses a required runtime variable, naming the environment entry', () => {
    const text = 'services:\n  app:\n    environment:\n      HF_INTENT_MODEL: ${HF_INTENT_MODEL:?set it}\n'
    expect(() => edit(text)).toThrow('input.yml: services.app.environment.HF_INTENT_MODEL: the value comes only from')
  })

  it('args under !reset are not configured', () => {
    const text = 'services:\n  app:\n    build:\n      args: !reset\n        HF_INTENT_MODEL: a/b\n'
    expect(edit(text)).toMatchObject({ text, occurrences: 0, changes: [] })
  })

  it.each([
    [
      'a required variable',
      'services:\n  app:\n    build:\n      args:\n        HF_INTENT_MODEL: ${HF_INTENT_MODEL:?set it}\n',
      /no default to set/,
    ],
    [
      'text around a variable',
      'services:\n  app:\n    build:\n      args:\n        HF_INTENT_MODEL: org/${NAME:-x}\n',
      /mixes text and variables/,
    ],
    [
      'a block scalar',
      'services:\n  app:\n    build:\n      args:\n        HF_INTENT_MODEL: |\n          a/b\n',
      /block scalar/,
    ],
    [
      'a map as value',
      'services:\n  app:\n    build:\n      args:\n        HF_INTENT_MODEL: { a: b }\n',
      /not a single value/,
    ],
  ])('refuses %s with BAD_INPUT', (_, text, message) => {
    expect(() => edit(text)).toThrow(message)
    expect(() => edit(text)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }))
  })

  it('reports duplicate keys with their position', () => {
    const text =
      'services:\n  app:\n    build:\n      args:\n        HF_INTENT_MODEL: a/b\n        HF_INTENT_MODEL: c/d\n'
    expect(() => edit(text)).toThrow(/^input\.yml:6:9: YAML error: Map keys must be unique/)
  })

  it('reports an alias with no anchor at all', () => {
    expect(() => edit('services:\n  app: *nothing\n')).toThrow(
      'input.yml:2:8: YAML error: alias *nothing refers to no anchor &nothing',
    )
  })

  it('handles an empty file and a file without services', () => {
    expect(edit('')).toMatchObject({ text: '', occurrences: 0 })
    expect(edit('# nothing\n')).toMatchObject({ text: '# nothing\n', occurrences: 0 })
    expect(edit('version: "3.9"\n')).toMatchObject({ occurrences: 0 })
  })

  it('keeps a missing final newline and a tag on the value', () => {
    const text = 'services:\n  app:\n    build:\n      args:\n        HF_INTENT_MODEL: !!str mdeberta'
    expect(edit(text).text).toBe(`services:\n  app:\n    build:\n      args:\n        HF_INTENT_MODEL: !!str ${MODEL}`)
  })

  it('edits another service or build arg when asked', () => {
    const input = readFileSync(join(FIXTURES, 'several-services', 'input.yml'), 'utf8')
    const r = editComposeModel(input, { ...target, service: 'eval', modelId: MODEL, baseAliases: BASE_ALIASES })
    expect(r.changes).toEqual([
      {
        kind: 'build_arg',
        line: 16,
        before: '        - HF_INTENT_MODEL=mdeberta',
        after: `        - HF_INTENT_MODEL=${MODEL}`,
      },
    ])
  })
})

describe('findBuildArgAsSecretWarning', () => {
  it('warns about HF_TOKEN passed as a build arg, in map and list form', () => {
    const map =
      'services:\n  app:\n    build:\n      args:\n        HF_INTENT_MODEL: a/b\n        HF_TOKEN: ${HF_TOKEN}\n'
    const [w] = findBuildArgAsSecretWarning(map, { service: 'app' })
    expect(w).toMatch(/^line 6: services\.app\.build\.args passes HF_TOKEN as a build arg; .*image history/)
    const list = 'services:\n  app:\n    build:\n      args:\n        - HF_TOKEN\n        - API_SECRET=x\n'
    expect(findBuildArgAsSecretWarning(list, { service: 'app' })).toHaveLength(2)
  })

  it('sees build args merged from an anchor', () => {
    const text = 'x: &x\n  HF_TOKEN: t\nservices:\n  app:\n    build:\n      args:\n        <<: *x\n'
    expect(findBuildArgAsSecretWarning(text, { service: 'app' })).toEqual([expect.stringContaining('HF_TOKEN')])
  })

  it('says nothing for clean files, other services, or files that do not parse', () => {
    expect(
      findBuildArgAsSecretWarning(readFileSync(join(FIXTURES, 'map', 'input.yml'), 'utf8'), { service: 'app' }),
    ).toEqual([])
    expect(
      findBuildArgAsSecretWarning('services:\n  other:\n    build:\n      args: [HF_TOKEN]\n', { service: 'app' }),
    ).toEqual([])
    expect(findBuildArgAsSecretWarning('services: [', { service: 'app' })).toEqual([])
  })
})

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a.yml', 'x\n', 'x\n')).toBe('')
  })

  it('prints a hunk with three lines of context', () => {
    const before = `${['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n')}\n`
    const after = before.replace('5', 'five')
    expect(unifiedDiff('docker-compose.yml', before, after)).toBe(
      [
        '--- a/docker-compose.yml',
        '+++ b/docker-compose.yml',
        '@@ -2,7 +2,7 @@',
        ' 2',
        ' 3',
        ' 4',
        '-5',
        '+five',
        ' 6',
        ' 7',
        ' 8',
        '',
      ].join('\n'),
    )
  })

  it('splits distant changes into hunks and merges close ones', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `l${i + 1}`)
    const before = `${lines.join('\n')}\n`
    const after = before.replace('l2\n', 'L2\n').replace('l5\n', 'L5\n').replace('l25\n', 'L25\n')
    const diff = unifiedDiff('f', before, after)
    expect(diff.match(/^@@.*@@$/gm)).toEqual(['@@ -1,8 +1,8 @@', '@@ -22,7 +22,7 @@'])
  })

  it('handles additions, removals and a missing final newline', () => {
    expect(unifiedDiff('f', 'a\nb', 'a\nc\n')).toBe(
      ['--- a/f', '+++ b/f', '@@ -1,2 +1,2 @@', ' a', '-b', '\\ No newline at end of file', '+c', ''].join('\n'),
    )
    expect(unifiedDiff('f', '', 'a\n')).toBe(['--- a/f', '+++ b/f', '@@ -0,0 +1 @@', '+a', ''].join('\n'))
    expect(unifiedDiff('f', 'a\nb\n', 'a\n')).toBe(['--- a/f', '+++ b/f', '@@ -1,2 +1 @@', ' a', '-b', ''].join('\n'))
  })

  it('prints CRLF files without carriage returns', () => {
    const input = readFileSync(join(FIXTURES, 'crlf', 'input.yml'), 'utf8')
    const diff = unifiedDiff('docker-compose.yml', input, edit(input).text)
    expect(diff).not.toContain('\r')
    expect(diff).toContain(`+        HF_INTENT_MODEL: ${MODEL}\n`)
  })
})
