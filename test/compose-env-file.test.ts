import { describe, expect, it } from 'vitest'
import { editEnvFile, readEnvFileModel } from '../pipeline/compose/env-file.js'

const MODEL = 'pratikoai/intent-classifier-v1.1'
const opts = { file: '.env.production', key: 'HF_INTENT_MODEL', modelId: MODEL, baseAliases: ['mdeberta', 'bart'] }

describe('editEnvFile', () => {
  it('sets KEY=value and keeps everything else byte for byte', () => {
    const text = '# model\nAPP_ENV=production\nHF_INTENT_MODEL=pratikoai/intent-classifier-v1.0\nLOG_LEVEL=info\n'
    const r = editEnvFile(text, opts)
    expect(r.text).toBe(text.replace('intent-classifier-v1.0', 'intent-classifier-v1.1'))
    expect(r.occurrences).toBe(1)
    expect(r.changes).toEqual([
      {
        kind: 'env_file',
        line: 3,
        before: 'HF_INTENT_MODEL=pratikoai/intent-classifier-v1.0',
        after: `HF_INTENT_MODEL=${MODEL}`,
      },
    ])
  })

  it.each([
    ['export prefix', 'export HF_INTENT_MODEL=mdeberta\n', `export HF_INTENT_MODEL=${MODEL}\n`],
    ['double quotes', 'HF_INTENT_MODEL="mdeberta"\n', `HF_INTENT_MODEL="${MODEL}"\n`],
    ['single quotes', "HF_INTENT_MODEL='mdeberta'\n", `HF_INTENT_MODEL='${MODEL}'\n`],
    [
      'comment after the value',
      'HF_INTENT_MODEL=mdeberta   # set by modelship\n',
      `HF_INTENT_MODEL=${MODEL}   # set by modelship\n`,
    ],
    ['comment after quotes', 'HF_INTENT_MODEL="mdeberta" # q\n', `HF_INTENT_MODEL="${MODEL}" # q\n`],
    ['spaces around =', 'HF_INTENT_MODEL = mdeberta\n', `HF_INTENT_MODEL = ${MODEL}\n`],
    ['indentation', '  HF_INTENT_MODEL=mdeberta\n', `  HF_INTENT_MODEL=${MODEL}\n`],
    ['CRLF', 'A=1\r\nHF_INTENT_MODEL=mdeberta\r\nB=2\r\n', `A=1\r\nHF_INTENT_MODEL=${MODEL}\r\nB=2\r\n`],
    ['no final newline', 'HF_INTENT_MODEL=mdeberta', `HF_INTENT_MODEL=${MODEL}`],
    ['empty value', 'HF_INTENT_MODEL=\n', `HF_INTENT_MODEL=${MODEL}\n`],
    ['default', 'HF_INTENT_MODEL=${MODEL_OVERRIDE:-mdeberta}\n', `HF_INTENT_MODEL=\${MODEL_OVERRIDE:-${MODEL}}\n`],
  ])('%s', (_, text, expected) => {
    const r = editEnvFile(text, opts)
    expect(r.text).toBe(expected)
    expect(r.occurrences).toBe(1)
    expect(editEnvFile(r.text, opts)).toMatchObject({ text: expected, changes: [] }) // idempotent
  })

  it('sets every line of the key, ignores comments and look-alike keys', () => {
    const text =
      '# HF_INTENT_MODEL=old/commented\nHF_INTENT_MODEL_REVISION=main\nHF_INTENT_MODEL=a/b\n' +
      'MY_HF_INTENT_MODEL=x/y\nHF_INTENT_MODEL=c/d\n'
    const r = editEnvFile(text, opts)
    expect(r.occurrences).toBe(2)
    expect(r.text).toBe(
      `# HF_INTENT_MODEL=old/commented\nHF_INTENT_MODEL_REVISION=main\nHF_INTENT_MODEL=${MODEL}\n` +
        `MY_HF_INTENT_MODEL=x/y\nHF_INTENT_MODEL=${MODEL}\n`,
    )
    expect(r.changes.map((c) => c.line)).toEqual([3, 5])
  })

  it('occurrences 0 when the key is absent; appendIfMissing adds it with the file line ending', () => {
    expect(editEnvFile('A=1\n', opts)).toMatchObject({ text: 'A=1\n', occurrences: 0, changes: [] })
    expect(editEnvFile('A=1\r\nB=2', { ...opts, appendIfMissing: true }).text).toBe(
      `A=1\r\nB=2\r\nHF_INTENT_MODEL=${MODEL}\r\n`,
    )
    expect(editEnvFile('', { ...opts, appendIfMissing: true })).toMatchObject({
      text: `HF_INTENT_MODEL=${MODEL}\n`,
      occurrences: 1,
      changes: [{ kind: 'env_file', line: 1, before: '', after: `HF_INTENT_MODEL=${MODEL}` }],
    })
  })

  it.each(['evil\nHF_TOKEN=x', 'a/b #', '$(id)', 'a/b"', '../../etc', 'a/b c'])(
    'rejects the model id %j before anything',
    (id) => {
      expect(() => editEnvFile('HF_INTENT_MODEL=a/b\n', { ...opts, modelId: id })).toThrow(
        expect.objectContaining({ code: 'BAD_INPUT' }),
      )
    },
  )

  it('refuses a quoted value that does not end on its line', () => {
    expect(() => editEnvFile('HF_INTENT_MODEL="a/b\nc"\n', opts)).toThrow(/does not end on its line/)
  })
})

describe('readEnvFileModel', () => {
  it('lists each line that sets the key (the last wins)', () => {
    const text = 'export HF_INTENT_MODEL="a/b" # c\nX=1\nHF_INTENT_MODEL=${HF_INTENT_MODEL:-c/d}\n'
    expect(readEnvFileModel(text, 'HF_INTENT_MODEL')).toEqual([
      { line: 1, raw: 'a/b', value: 'a/b', form: 'env' },
      { line: 3, raw: '${HF_INTENT_MODEL:-c/d}', value: 'c/d', form: 'default', variable: 'HF_INTENT_MODEL' },
    ])
  })

  it('single quotes are literal', () => {
    expect(readEnvFileModel("HF_INTENT_MODEL='${X:-a/b}'\n", 'HF_INTENT_MODEL')).toEqual([
      { line: 1, raw: '${X:-a/b}', value: '${X:-a/b}', form: 'env' },
    ])
  })

  it('is empty when the key is absent', () => {
    expect(readEnvFileModel('A=1\n', 'HF_INTENT_MODEL')).toEqual([])
  })
})
