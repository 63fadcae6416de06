import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { failure } from './support/failure.js'
import { sha256File } from '../pipeline/fs-atomic.js'
import { writeDataset } from '../pipeline/feedback/dataset-writer.js'
import { hashBytes } from '../pipeline/feedback/text-hash.js'
import {
  assertValidDataset,
  describeFeedbackSource,
  exportFeedback,
  sourceIdentity,
  sourceKind,
} from '../pipeline/feedback/index.js'
import type { DatasetReport, ExportResult } from '../pipeline/feedback/types.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-feedback-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function exportText(
  name: string,
  content: string | Buffer,
  extra: { onProgress?: (l: string) => void; labels?: string[] } = {},
): Promise<ExportResult> {
  const source = join(dir, name)
  await writeFile(source, content)
  return exportFeedback({ source, query: null, destPath: join(dir, 'out', 'dataset.jsonl'), ...extra })
}

async function readDataset(path: string): Promise<Array<{ text: string; label: string }>> {
  const text = await readFile(path, 'utf8')
  expect(text.endsWith('\n')).toBe(true)
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { text: string; label: string })
}

describe('JSONL files', () => {
  it('normalizes, dedups and reports', async () => {
    const lines = [
      { text: '  Come si calcola l’IRPEF?  ', label: ' calculator ' }, // 1: trimmed
      { text: 'Ciao', label: 'chitchat' }, // 2
      { text: '   ', label: 'chitchat' }, // 3: empty text
      { text: 'Ciao', label: 'chitchat' }, // 4: duplicate
      { text: 'Cos’è il   TFR', label: 'theoretical_definition' }, // 5: inner spaces kept
      { text: 'Ciao', label: 'technical_research' }, // 6: conflict, kept
      { text: 'Ciao ', label: 'technical_research' }, // 7: duplicate of 6 after trimming
      { text: 'Ciao', label: 'calculator' }, // 8: third label for the same text
      { text: 'Senza etichetta', label: '  ' }, // 9: empty label
    ]
    const result = await exportText('feedback.jsonl', `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`)
    expect(await readDataset(result.path)).toEqual([
      { text: 'Come si calcola l’IRPEF?', label: 'calculator' },
      { text: 'Ciao', label: 'chitchat' },
      { text: 'Cos’è il   TFR', label: 'theoretical_definition' },
      { text: 'Ciao', label: 'technical_research' },
      { text: 'Ciao', label: 'calculator' },
    ])
    expect(result.report).toEqual({
      source: join(dir, 'feedback.jsonl'),
      refs: 'line',
      rowsRead: 9,
      kept: 5,
      dropped: {
        empty_text: { count: 1, first: [3] },
        duplicate: { count: 2, first: [4, 7] },
        empty_label: { count: 1, first: [9] },
      },
      perLabel: { calculator: 2, chitchat: 1, technical_research: 1, theoretical_definition: 1 },
      conflicts: [{ text: 'Ciao', labels: ['chitchat', 'technical_research', 'calculator'] }],
      conflictCount: 1,
      sha256: result.sha256,
    })
    expect(result.sha256).toBe(await sha256File(result.path))
    expect(result.path).toBe(join(dir, 'out', 'dataset.jsonl'))
  })

  it('accepts CRLF, a BOM, blank lines, no final newline and extra keys', async () => {
    const body = '\uFEFF{"text":"a","label":"x"}\r\n\r\n  \n{"label":"y","text":"b","extra":1}'
    const result = await exportText('f.jsonl', body)
    expect(await readDataset(result.path)).toEqual([
      { text: 'a', label: 'x' },
      { text: 'b', label: 'y' },
    ])
  })

  it('keeps only the first 10 line numbers per drop reason', async () => {
    const rows = Array.from({ length: 30 }, () => JSON.stringify({ text: 'same', label: 'x' }))
    const result = await exportText('f.jsonl', rows.join('\n'))
    expect(result.report.dropped.duplicate).toEqual({ count: 29, first: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11] })
  })

  it.each([
    ['{"text":"a","label":"x"}\n{"text": "b", "label": }\n', /f\.jsonl:2: malformed JSON \(/],
    ['{"text":"a","label":"x"}\n\n{"text":5,"label":"x"}\n', /f\.jsonl:3: "text" must be a string$/],
    ['{"text":"a"}\n', /f\.jsonl:1: missing "label"$/],
    ['{"label":"a"}\n', /f\.jsonl:1: missing "text"$/],
    ['{"text":"a","label":null}\n', /f\.jsonl:1: "label" must be a string$/],
    ['["a","x"]\n', /f\.jsonl:1: expected a JSON object with "text" and "label"$/],
    ['{"text":"a","label":"x"}\n{"text":"unfinished\n', /f\.jsonl:2: malformed JSON/],
  ])('rejects malformed input with one line saying where: %j', async (body, message) => {
    const e = await failure(exportText('f.jsonl', body))
    expect(e.code).toBe('BAD_INPUT')
    expect(e.message).toMatch(message)
    expect(e.message.startsWith(join(dir, 'f.jsonl'))).toBe(true)
    expect(e.message).not.toContain('\n')
  })

  it('rejects bytes that are not UTF-8', async () => {
    const e = await failure(
      exportText(
        'f.jsonl',
        Buffer.concat([
          Buffer.from('{"text":"a","label":"x"}\n{"text":"'),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('","label":"x"}\n'),
        ]),
      ),
    )
    expect(e.code).toBe('BAD_INPUT')
    expect(e.message).toBe(`${join(dir, 'f.jsonl')}:2: not valid UTF-8 (save the data as UTF-8)`)
    const many = Array.from({ length: 40_000 }, (_, i) => `q${i},x`).join('\n')
    const e2 = await failure(
      exportText('g.csv', Buffer.concat([Buffer.from(`text,label\n${many}\n`), Buffer.from([0xc3, 0x28])])),
    )
    expect(e2.message).toBe(`${join(dir, 'g.csv')}:40002: not valid UTF-8 (save the data as UTF-8)`)
  })

  it('reports progress as plain lines', async () => {
    const rows = Array.from({ length: 250_000 }, (_, i) => `{"text":"question ${i}","label":"l${i % 5}"}`)
    const lines: string[] = []
    const result = await exportText('big.jsonl', rows.join('\n'), { onProgress: (l) => lines.push(l) })
    expect(result.report.kept).toBe(250_000)
    expect(lines).toContain('exported 100000 rows')
    expect(lines).toContain('exported 200000 rows')
    expect(lines.at(-1)).toBe('exported 250000 rows')
    for (const l of lines) expect(l).toMatch(/^exported \d+ rows$/)
  })
})

describe('CSV files', () => {
  it(
    'parses RFC 4180: quotes, doubled quotes, embedded newlines, CRLF, BOM, any column order, extra ' + 'columns',
    async () => {
      const body =
        '\uFEFFid,label,text,notes\r\n' +
        '1,chitchat,"Ciao, come va?",x\r\n' +
        '2,calculator,"Il 5"" di 200",\r\n' +
        '3,technical_research,"prima riga\r\nseconda riga\nterza",""\r\n' +
        '\r\n' +
        '4,chitchat,plain text,"a ""b"" c"\r\n' +
        '5,chitchat,"",\r\n' +
        '6,theoretical_definition,"last, no newline"'
      const result = await exportText('f.csv', body)
      expect(await readDataset(result.path)).toEqual([
        { text: 'Ciao, come va?', label: 'chitchat' },
        { text: 'Il 5" di 200', label: 'calculator' },
        { text: 'prima riga\r\nseconda riga\nterza', label: 'technical_research' },
        { text: 'plain text', label: 'chitchat' },
        { text: 'last, no newline', label: 'theoretical_definition' },
      ])
      // Line numbers are where each record starts (record 3 spans lines 4-6, then a blank line).
      expect(result.report.dropped).toEqual({ empty_text: { count: 1, first: [9] } })
      expect(result.report.rowsRead).toBe(6)
    },
  )

  it('accepts LF-only files and a header with spaces and capitals', async () => {
    const result = await exportText('f.csv', ' Text , LABEL\nhello,chitchat\n')
    expect(await readDataset(result.path)).toEqual([{ text: 'hello', label: 'chitchat' }])
  })

  it('reports an unterminated quote at the line where the field started', async () => {
    const e = await failure(exportText('f.csv', 'text,label\na,x\n"never closed,x\nmore\nlines\n'))
    expect(e.code).toBe('BAD_INPUT')
    expect(e.message).toBe(`${join(dir, 'f.csv')}:3: unterminated quoted field (the closing quote is missing)`)
  })

  it('rejects a header without text and label, naming what it got', async () => {
    const e = await failure(exportText('f.csv', 'query,intent\na,b\n'))
    expect(e.code).toBe('BAD_INPUT')
    expect(e.message).toBe(
      `${join(dir, 'f.csv')}:1: CSV header is missing the "text" and "label" columns (got "query", "intent")`,
    )
    const e2 = await failure(exportText('g.csv', 'text,intent\na,b\n'))
    expect(e2.message).toMatch(/g\.csv:1: CSV header is missing the "label" column/)
  })

  it('rejects a row without the label field, and junk after a closing quote', async () => {
    const e = await failure(exportText('f.csv', 'text,label\na,x\nonly text\n'))
    expect(e.message).toBe(`${join(dir, 'f.csv')}:3: missing "label" (the row has 1 field)`)
    const e2 = await failure(exportText('g.csv', 'text,label\n"a"b,x\n'))
    expect(e2.code).toBe('BAD_INPUT')
    expect(e2.message).toMatch(/g\.csv:2: unexpected character "b" after a closing quote/)
  })

  it('rejects an empty file', async () => {
    const e = await failure(exportText('f.csv', ''))
    expect(e.code).toBe('BAD_INPUT')
    expect(e.message).toMatch(/f\.csv:1: empty CSV/)
  })

  it('gives the same rows and line numbers however the input is split into chunks', async () => {
    const body = '\uFEFFtext,label\r\n"a ""q""\r\nb",x\r\nc,"y"\r\n\r\n"",z\n"d,e",w\r\n'
    const whole = await exportText('w.csv', body)
    expect(await readDataset(whole.path)).toEqual([
      { text: 'a "q"\r\nb', label: 'x' },
      { text: 'c', label: 'y' },
      { text: 'd,e', label: 'w' },
    ])
    expect(whole.report.dropped).toEqual({ empty_text: { count: 1, first: [6] } })
    const bytes = Buffer.from(body)
    for (let i = 1; i < bytes.length; i += 3) {
      const chunks = (async function* () {
        yield bytes.subarray(0, i)
        yield bytes.subarray(i)
      })()
      const { readRecords } = await import('../pipeline/feedback/file-source.js')
      const split = await writeDataset(join(dir, `s${i}.jsonl`), { source: 's', refs: 'line' }, (w) =>
        readRecords('csv', chunks, 's', 'line', w),
      )
      expect(split.sha256).toBe(whole.sha256)
      expect(split.report.dropped).toEqual(whole.report.dropped)
    }
  })
})

describe('every problem at once', () => {
  const LABELS = ['chitchat', 'theoretical_definition', 'technical_research', 'calculator', 'normative_reference']
  const RAW = join(import.meta.dirname, '..', 'examples', 'data', 'feedback-raw.jsonl')

  it('reports all malformed lines and unknown labels of the bundled raw file in one run, with hints', async () => {
    const dest = join(dir, 'dataset.jsonl')
    const e = await failure(exportFeedback({ source: RAW, query: null, destPath: dest, labels: LABELS }))
    expect(e.code).toBe('BAD_INPUT')
    expect(e.exitCode).toBe(2)
    expect(e.message).toBe(
      `${RAW}: 8 bad lines: 4 malformed, 3 with an unknown label (Normative_Reference, greeting, tax_calc), 1 with ` +
        `an empty text (dropped)`,
    )
    const details = e.details!.split('\n')
    expect(details.map((d) => /^line (\d+):/.exec(d)?.[1])).toEqual([
      '381',
      '452',
      '577',
      '658',
      '683',
      '1030',
      '1076',
      '1182',
      undefined,
    ])
    expect(details[0]).toMatch(/^line 381: malformed JSON/)
    expect(details[1]).toBe('line 452: empty "text" (dropped)')
    expect(details[2]).toBe('line 577: missing "text"')
    expect(details[3]).toBe('line 658: "text" must be a string')
    expect(details[5]).toBe('line 1030: unknown label "greeting"')
    expect(details[7]).toBe('line 1182: unknown label "Normative_Reference" (did you mean "normative_reference"?)')
    expect(details[8]).toBe(
      'in all: 4 malformed; 3 with an unknown label (Normative_Reference, greeting, tax_calc); 1 with an empty text ' +
        '(dropped)',
    )
    expect(await readdir(dir)).toEqual([])
  })

  it('lists the first 20 problems, then counts per kind', async () => {
    const rows = Array.from({ length: 30 }, (_, i) =>
      i % 2 ? '{broken' : JSON.stringify({ text: `t${i}`, label: 'Chitchat' }),
    )
    const e = await failure(exportText('f.jsonl', rows.join('\n'), { labels: LABELS }))
    const details = e.details!.split('\n')
    expect(details).toHaveLength(22)
    expect(details[0]).toBe('line 1: unknown label "Chitchat" (did you mean "chitchat"?)')
    expect(details[1]).toMatch(/^line 2: malformed JSON/)
    expect(details[20]).toBe('… and 10 more')
    expect(details[21]).toBe('in all: 15 malformed; 15 with an unknown label (Chitchat)')
  })

  it('validation hints at the closest known label', () => {
    const report = {
      source: 's',
      rowsRead: 1,
      kept: 1,
      dropped: {},
      perLabel: { Normative_Reference: 1 },
      conflicts: [],
      sha256: '',
    }
    const e = (() => {
      try {
        assertValidDataset(report, { labels: LABELS, minPerLabel: 0 })
      } catch (err) {
        return err as Error
      }
      throw new Error('expected a failure')
    })()
    expect(e.message).toMatch(/^unknown labels: Normative_Reference \(1; did you mean normative_reference\?\)/)
  })
})

describe('file errors and atomicity', () => {
  it('names a missing file (BAD_INPUT) and refuses other extensions (CONFIG) and schemes', async () => {
    const missing = join(dir, 'nope.jsonl')
    const e = await failure(exportFeedback({ source: missing, query: null, destPath: join(dir, 'd.jsonl') }))
    expect(e.code).toBe('BAD_INPUT')
    expect(e.message).toBe(`${missing}: no such file`)
    const e2 = await failure(exportText('data.txt', 'text,label\n'))
    expect(e2.code).toBe('CONFIG')
    expect(e2.message).toMatch(/unsupported file type \.txt/)
    const e3 = await failure(
      exportFeedback({ source: 's3://bucket/x.jsonl', query: null, destPath: join(dir, 'd.jsonl') }),
    )
    expect(e3.code).toBe('CONFIG')
    await mkdir(join(dir, 'adir.jsonl'))
    const e4 = await failure(
      exportFeedback({ source: join(dir, 'adir.jsonl'), query: null, destPath: join(dir, 'd.jsonl') }),
    )
    expect(e4.code).toBe('BAD_INPUT')
    expect(e4.message).toBe(`${join(dir, 'adir.jsonl')}: a directory, not a file`)
  })

  it('leaves an existing destination untouched and no temp file behind when the input is bad', async () => {
    const dest = join(dir, 'out', 'dataset.jsonl')
    await mkdir(join(dir, 'out'))
    await writeFile(dest, 'previous dataset\n')
    const rows = Array.from({ length: 50_000 }, (_, i) => `{"text":"q${i}","label":"x"}`)
    await writeFile(join(dir, 'f.jsonl'), `${rows.join('\n')}\n{broken\n`)
    const e = await failure(exportFeedback({ source: join(dir, 'f.jsonl'), query: null, destPath: dest }))
    expect(e.message).toMatch(/f\.jsonl:50001: malformed JSON/)
    expect(await readFile(dest, 'utf8')).toBe('previous dataset\n')
    expect(await readdir(join(dir, 'out'))).toEqual(['dataset.jsonl'])
  })

  it('replaces an existing destination on success', async () => {
    const dest = join(dir, 'dataset.jsonl')
    await writeFile(dest, 'old\n')
    await writeFile(join(dir, 'f.jsonl'), '{"text":"a","label":"x"}\n')
    const result = await exportFeedback({ source: join(dir, 'f.jsonl'), query: null, destPath: dest })
    expect(await readFile(dest, 'utf8')).toBe('{"text":"a","label":"x"}\n')
    expect((await readdir(dir)).sort()).toEqual(['dataset.jsonl', 'f.jsonl'])
    expect(result.report.kept).toBe(1)
  })

  it('stops on abort without leaving a file', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `{"text":"q${i}","label":"x"}`)
    await writeFile(join(dir, 'f.jsonl'), rows.join('\n'))
    const ac = new AbortController()
    ac.abort()
    const e = await failure(
      exportFeedback({ source: join(dir, 'f.jsonl'), query: null, destPath: join(dir, 'd.jsonl'), signal: ac.signal }),
    )
    expect(e.code).toBe('INTERRUPTED')
    expect((await readdir(dir)).sort()).toEqual(['f.jsonl'])
  })
})

describe('sourceKind and sourceIdentity', () => {
  it('describes what a dry run would fetch without credentials', () => {
    const url = 'https://user:pw-secret@qa.example.com/api/labeling/export?format=jsonl&token=tok-secret'
    const line = describeFeedbackSource(url, { apiToken: 'api-secret' })
    expect(line).toBe(
      'would GET https://qa.example.com/api/labeling/export?format=jsonl&token=***' +
        ' with the FEEDBACK_API_TOKEN bearer token (not fetched in a dry run: the export marks rows as exported)',
    )
    expect(describeFeedbackSource('postgres://u:pw-secret@db:5432/app')).toBe(
      'would read labeled_queries from postgres://db:5432/app in a READ ONLY transaction',
    )
  })

  it('classifies sources', () => {
    expect(sourceKind('/data/feedback.jsonl')).toBe('file')
    expect(sourceKind('HTTPS://app.example.com/api/v1/labeling/export?format=csv')).toBe('http')
    expect(sourceKind('postgresql://u:p@db/app')).toBe('postgres')
  })

  it('never includes credentials', () => {
    expect(sourceIdentity('/data/feedback.jsonl')).toBe('/data/feedback.jsonl')
    expect(sourceIdentity('postgres://modelship:p%40ss%3Aw%2Frd%25@db.internal:5433/pratikoai?sslmode=require')).toBe(
      'postgres://db.internal:5433/pratikoai',
    )
    expect(sourceIdentity('postgres://u:secret@db/app')).toBe('postgres://db/app')
    expect(
      sourceIdentity('https://bob:hunter22@app.example.com/api/v1/labeling/export?format=jsonl&token=abcdef'),
    ).toBe('https://app.example.com/api/v1/labeling/export?format=jsonl&token=***')
  })
})

describe('DatasetWriter', () => {
  const tricky = [
    'plain ASCII question?',
    '  spaces around  ',
    '\u00a0\u2003È già scaduto il termine?\u3000\ufeff',
    'Perché sì',
    'quotes "inside" and a backslash \\ here',
    'control \u0001 and tab\tand newline\n',
    'emoji 🧾 and CJK 税',
    'x'.repeat(5000),
    '\u2028line separator inside\u2029ok',
  ]

  it('hashes with MurmurHash3 x86_128 (reference vectors)', () => {
    const hex = (s: string, seed = 0): string => {
      const out = new Uint32Array(4)
      const b = Buffer.from(s, 'utf8')
      hashBytes(b, 0, b.length, seed, out)
      return [...out].map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('')
    }
    expect(hex('')).toBe('0'.repeat(32))
    expect(hex('hello')).toBe('2b2444a0db91def79adb31b69adb31b6')
    expect(hex('The quick brown fox jumps over the lazy dog')).toBe('2f1583c3ecee2c675d7bf66ce5e91d2c')
  })

  it('writes exactly what JSON.stringify would, from strings and from UTF-8 bytes alike', async () => {
    const viaStrings = await writeDataset(join(dir, 'a.jsonl'), { source: 's' }, async (w) => {
      tricky.forEach((t, i) => {
        w.add(t, ' label ', i + 1)
      })
    })
    const viaBytes = await writeDataset(join(dir, 'b.jsonl'), { source: 'b' }, async (w) => {
      tricky.forEach((t, i) => {
        const buf = Buffer.from(`${i + 1}|${t}|label`, 'utf8')
        const first = buf.indexOf('|')
        const last = buf.lastIndexOf('|')
        w.addUtf8(buf, first + 1, last, last + 1, buf.length, i + 1, 0, first)
      })
    })
    const expected = tricky.map((t) => `${JSON.stringify({ text: t.trim(), label: 'label' })}\n`).join('')
    expect(await readFile(viaStrings.path, 'utf8')).toBe(expected)
    expect(await readFile(viaBytes.path, 'utf8')).toBe(expected)
    expect(viaBytes.sha256).toBe(viaStrings.sha256)
  })

  it('deduplicates the same text whether it came as a string or as bytes', async () => {
    const result = await writeDataset(join(dir, 'c.jsonl'), { source: 's' }, async (w) => {
      tricky.forEach((t, i) => {
        w.add(t, 'a', i + 1)
      })
      tricky.forEach((t, i) => {
        const buf = Buffer.from(`${t}\ta`, 'utf8')
        const tab = buf.lastIndexOf('\t')
        w.addUtf8(buf, 0, tab, tab + 1, buf.length, 100 + i, -1, -1)
      })
      const buf = Buffer.from('9007\tPerché sì\tb', 'utf8')
      w.addUtf8(buf, 5, buf.lastIndexOf('\t'), buf.lastIndexOf('\t') + 1, buf.length, 999, 0, 4)
    })
    expect(result.report.kept).toBe(tricky.length + 1)
    expect(result.report.dropped.duplicate).toEqual({
      count: tricky.length,
      first: [100, 101, 102, 103, 104, 105, 106, 107, 108],
    })
    expect(result.report.conflicts).toEqual([{ text: 'Perché sì', labels: ['a', 'b'] }])
  })

  it('refuses an absurd number of distinct labels (the wrong column)', async () => {
    const e = await failure(
      writeDataset(join(dir, 'd.jsonl'), { source: 'src.csv' }, async (w) => {
        for (let i = 0; i < 10_001; i++) w.add(`text ${i}`, `label ${i}`, i + 1)
      }),
    )
    expect(e.code).toBe('BAD_INPUT')
    expect(e.message).toMatch(/src\.csv: more than 10000 distinct labels/)
    expect(await readdir(dir)).toEqual([])
  })

  describe('batched dedup', () => {
    type Row = { text: string; label: string; id: number; asBytes: boolean }
    // Deterministic rows: few enough texts that duplicates and conflicts (up to four labels a text) recur
    // across batches and shards; texts needing trimming (the string path) mixed with byte rows; empty texts
    // and labels, and an unknown label, so that every report list interleaves with the verdicts.
    function mixedRows(count: number): Row[] {
      let seed = 12345
      const next = (n: number): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
        return (seed >>> 8) % n
      }
      const labels = ['a', 'b', 'c', 'd', 'zz']
      const rows: Row[] = []
      for (let id = 1; id <= count; id++) {
        const t = next(400)
        const text =
          next(50) === 0
            ? '   '
            : next(8) === 0
              ? ` \u00a0question ${t}\t`
              : `question ${t}${t % 7 === 0 ? ' "q"' : ''}`
        // Most texts keep one label; every 5th text draws from all of them.
        const label = next(60) === 0 ? ' ' : t % 5 === 0 ? labels[next(labels.length)]! : labels[t % 4]!
        rows.push({ text, label, id, asBytes: next(3) !== 0 })
      }
      return rows
    }

    async function exportRows(
      name: string,
      rows: Row[],
      batchRows: number | undefined,
      how: { dedupWorker?: boolean; expectRows?: number } = {},
    ): Promise<{ file: string; report: string; sha256?: string }> {
      const opts = { source: 's', refs: 'id' as const, labels: ['a', 'b', 'c', 'd'], batchRows, ...how }
      // Unknown labels fail the export at commit; the report is still what the error is built from.
      const result = await writeDataset(join(dir, name), opts, async (w) => {
        if (how.expectRows !== undefined) w.expectRows(how.expectRows)
        // Byte rows share chunk buffers of up to 10 rows, as COPY rows do.
        for (let i = 0; i < rows.length; i += 10) {
          const group = rows.slice(i, i + 10)
          const chunk = Buffer.from(group.map((r) => `${r.id}\t${r.text}\t${r.label}\n`).join(''), 'utf8')
          let p = 0
          for (const r of group) {
            const nl = chunk.indexOf(0x0a, p)
            const tab1 = chunk.indexOf(0x09, p)
            const tab2 = chunk.lastIndexOf(0x09, nl)
            if (r.asBytes) w.addUtf8(chunk, tab1 + 1, tab2, tab2 + 1, nl, r.id, p, tab1)
            else w.add(r.text, r.label, r.id)
            p = nl + 1
          }
        }
      }).catch((e: { details?: string; message: string }) => ({ error: `${e.message}\n${e.details}` }))
      if ('error' in result) return { file: '', report: result.error }
      return { file: await readFile(result.path, 'utf8'), report: JSON.stringify(result.report), sha256: result.sha256 }
    }

    it('writes and reports exactly what row-by-row dedup does, whatever the batch size', async () => {
      const rows = mixedRows(3000).map((r) => (r.label === 'zz' ? { ...r, label: 'a' } : r))
      const oneByOne = await exportRows('one.jsonl', rows, 1)
      const report = JSON.parse(oneByOne.report) as DatasetReport
      // The data exercises what it should: duplicates, conflicts with several labels, drops of every kind.
      expect(report.dropped.duplicate!.count).toBeGreaterThan(1000)
      expect(report.dropped.empty_text!.count).toBeGreaterThan(10)
      expect(report.dropped.empty_label!.count).toBeGreaterThan(10)
      expect(report.conflicts.length).toBeGreaterThan(40)
      expect(report.conflicts.some((c) => c.labels.length === 4)).toBe(true)
      // undefined: the default, a small first batch, then bigger ones up to full size.
      for (const batchRows of [2, 7, 64, 1000, 16_384, undefined]) {
        expect(await exportRows(`b${batchRows}.jsonl`, rows, batchRows)).toEqual(oneByOne)
      }
    })

    it('lists unknown labels and bad rows in row order across batches', async () => {
      const rows = mixedRows(600)
      const oneByOne = await exportRows('one.jsonl', rows, 1)
      expect(oneByOne.report).toMatch(/unknown label "zz"/)
      for (const batchRows of [3, 50])
        expect(await exportRows(`b${batchRows}.jsonl`, rows, batchRows)).toEqual(oneByOne)
    })

    it('with the dedup table on a worker thread, writes and reports exactly what row-by-row dedup does', async () => {
      const rows = mixedRows(3000).map((r) => (r.label === 'zz' ? { ...r, label: 'a' } : r))
      const oneByOne = await exportRows('one.jsonl', rows, 1)
      // Batch sizes from one row (every row its own hand-over) to the worker's default, which holds all.
      for (const batchRows of [1, 7, 64, 1000, undefined]) {
        expect(await exportRows(`w${batchRows}.jsonl`, rows, batchRows, { dedupWorker: true })).toEqual(oneByOne)
      }
      // A large expected row count moves the table to the worker without being asked.
      expect(await exportRows('auto.jsonl', rows, 50, { expectRows: 1_000_000 })).toEqual(oneByOne)
      expect(await readdir(dir)).toEqual([
        'auto.jsonl',
        'one.jsonl',
        'w1.jsonl',
        'w1000.jsonl',
        'w64.jsonl',
        'w7.jsonl',
        'wundefined.jsonl',
      ])
    })

    it('with the dedup table on a worker thread, lists unknown labels and bad rows in row order', async () => {
      const rows = mixedRows(600)
      const oneByOne = await exportRows('one.jsonl', rows, 1)
      for (const batchRows of [3, 50])
        expect(await exportRows(`w${batchRows}.jsonl`, rows, batchRows, { dedupWorker: true })).toEqual(oneByOne)
      // The failed exports left no temp file.
      expect(await readdir(dir)).toEqual([])
    })

    it('with the dedup table on a worker thread, stops on abort and leaves no temp file', async () => {
      const controller = new AbortController()
      const e = await failure(
        writeDataset(join(dir, 'g.jsonl'), { source: 's', dedupWorker: true, signal: controller.signal }, async (w) => {
          for (let i = 0; i < 50_000; i++) {
            if (i === 30_000) controller.abort()
            w.add(`text ${i % 20_000}`, 'a', i + 1)
            await w.ready()
          }
        }),
      )
      expect(e.code).toBe('INTERRUPTED')
      expect(await readdir(dir)).toEqual([])
    })

    it('keeps the first of each text and label, and lists conflicts in the order they arise', async () => {
      const result = await writeDataset(join(dir, 'f.jsonl'), { source: 's', batchRows: 4 }, async (w) => {
        const rows: Array<[string, string]> = [
          ['x', 'a'],
          ['y', 'b'],
          ['x', 'a'],
          [' x ', 'b'],
          ['y', 'b'],
          ['x', 'c'],
          ['z', 'a'],
          ['x', 'b'],
          ['y', 'a'],
        ]
        rows.forEach(([t, l], i) => {
          const buf = Buffer.from(`${t}\t${l}`, 'utf8')
          if (t !== t.trim()) w.add(t, l, i + 1)
          else w.addUtf8(buf, 0, t.length, t.length + 1, buf.length, i + 1, -1, -1)
        })
      })
      expect(await readDataset(result.path)).toEqual([
        { text: 'x', label: 'a' },
        { text: 'y', label: 'b' },
        { text: 'x', label: 'b' },
        { text: 'x', label: 'c' },
        { text: 'z', label: 'a' },
        { text: 'y', label: 'a' },
      ])
      expect(result.report.dropped.duplicate).toEqual({ count: 3, first: [3, 5, 8] })
      expect(result.report.conflicts).toEqual([
        { text: 'x', labels: ['a', 'b', 'c'] },
        { text: 'y', labels: ['b', 'a'] },
      ])
    })
  })

  it('counts conflicts beyond the listed ones', async () => {
    const result = await writeDataset(join(dir, 'e.jsonl'), { source: 's' }, async (w) => {
      for (let i = 0; i < 150; i++) {
        w.add(`text ${i}`, 'a', i)
        w.add(`text ${i}`, 'b', i)
      }
    })
    expect(result.report.conflicts).toHaveLength(100)
    expect(result.report.conflictCount).toBe(150)
  })
})
