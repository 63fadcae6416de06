import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createThrottle,
  createTransferMeter,
  formatEta,
  formatRate,
  formatTransferLine,
} from '../pipeline/progress/transfer.js'
import { classificationReportOf } from '../pipeline/progress/train-log.js'
import { startHubServer } from './hub-server/index.js'
import { makeFixtureWorkspace } from './support/fixture-app.js'
import { cleanup, cliEnv, runCli } from './support/workspace.js'

const MiB = 1024 * 1024

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000
  return {
    now: () => t,
    advance: (ms) => {
      t += ms
    },
  }
}

describe('transfer progress (pure, fake clock)', () => {
  it('gives percent, MiB/s and ETA per file and in total', () => {
    const clock = fakeClock()
    const meter = createTransferMeter({
      now: clock.now,
      expected: {
        phase: 'uploading',
        files: [
          { path: 'model.safetensors', size: 100 * MiB },
          { path: 'tokenizer.json', size: 25 * MiB },
        ],
      },
    })
    const first = meter.update({ file: 'model.safetensors', phase: 'uploading', bytes: 0, total: 100 * MiB })
    expect(formatTransferLine(first)).toBe(
      'uploading model.safetensors: 0% of 100.0 MiB, – MiB/s, ETA – · total 0% of 125.0 MiB, – MiB/s, ETA –',
    )
    clock.advance(2000)
    const mid = meter.update({ file: 'model.safetensors', phase: 'uploading', bytes: 20 * MiB, total: 100 * MiB })
    expect(mid.fileMeasure).toMatchObject({ percent: 20, bytesPerSecond: 10 * MiB, etaMs: 8000 })
    expect(formatTransferLine(mid)).toBe(
      'uploading model.safetensors: 20% of 100.0 MiB, 10.0 MiB/s, ETA 8 s · total 16% of 125.0 MiB, 10.0 MiB/s, ETA ' +
        '11 s',
    )
    clock.advance(8000)
    const done = meter.update({ file: 'model.safetensors', phase: 'uploading', bytes: 100 * MiB, total: 100 * MiB })
    expect(done.finished).toBe(true)
    expect(formatTransferLine(done)).toBe(
      'uploading model.safetensors: 100% of 100.0 MiB, 10.0 MiB/s, done · total 80% of 125.0 MiB, 10.0 MiB/s, ETA 3 s',
    )
  })

  it('measures a file from its first event; hashing totals count only the files seen', () => {
    const clock = fakeClock()
    const meter = createTransferMeter({
      now: clock.now,
      expected: { phase: 'uploading', files: [{ path: 'a', size: 10 * MiB }] },
    })
    meter.update({ file: 'big.bin', phase: 'hashing', bytes: 0, total: 4 * MiB })
    clock.advance(500)
    const s = meter.update({ file: 'big.bin', phase: 'hashing', bytes: 1 * MiB, total: 4 * MiB })
    expect(formatTransferLine(s)).toBe(
      'hashing big.bin: 25% of 4.0 MiB, 2.0 MiB/s, ETA 2 s · total 25% of 4.0 MiB, 2.0 MiB/s, ETA 2 s',
    )
  })

  it('formats slow rates in KiB/s and long ETAs in minutes and hours', () => {
    expect(formatRate(512 * 1024)).toBe('512.0 KiB/s')
    expect(formatRate(undefined)).toBe('– MiB/s')
    expect(formatEta(58_001)).toBe('ETA 59 s')
    expect(formatEta(59_001)).toBe('ETA 1 min 00 s')
    expect(formatEta(185_000)).toBe('ETA 3 min 05 s')
    expect(formatEta(3_720_000)).toBe('ETA 1 h 02 min')
  })

  it('throttles to one line per interval but never hides a finished file', () => {
    const clock = fakeClock()
    const show = createThrottle(clock.now, 1000)
    expect(show(false)).toBe(true)
    clock.advance(400)
    expect(show(false)).toBe(false)
    expect(show(true)).toBe(true)
    clock.advance(999)
    expect(show(false)).toBe(false)
    clock.advance(1)
    expect(show(false)).toBe(true)
  })
})

describe('classification report', () => {
  it('is cut from the trainer output as printed, blank lines and alignment kept', () => {
    const out = [
      'epoch 3/3 loss=0.1',
      'accuracy=1.0000 f1_macro=1.0000',
      '',
      '              precision    recall  f1-score   support',
      '',
      '    chitchat       1.00      1.00      1.00         8',
      '  calculator       0.90      1.00      0.95         9',
      '',
      '    accuracy                           0.97        17',
      '   macro avg       0.95      1.00      0.97        17',
      'weighted avg       0.95      0.97      0.97        17',
      'saved',
    ].join('\n')
    expect(classificationReportOf(out)).toEqual(out.split('\n').slice(3, 11))
    expect(classificationReportOf('no report here')).toBeUndefined()
  })
})

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

describe('modelship push against a Hugging-Face-Hub-compatible server', () => {
  it(
    'prints progress lines with percent, rate and ETA per file and in total (plain lines when not a ' + 'TTY)',
    async () => {
      const token = `hf_${randomBytes(16).toString('hex')}`
      // Weights go through LFS, streamed in chunks, as on the Hub.
      const hub = await startHubServer({ lfsThreshold: 64 * 1024 })
      hub.addToken(token, { user: 'alice', orgs: [{ name: 'pratikoai', role: 'write' }] })
      const ws = makeFixtureWorkspace({ registry: 'hf' })
      cleanups.push(
        () => hub.close(),
        () => cleanup(ws),
      )
      const model = join(ws, 'my-model')
      mkdirSync(model)
      writeFileSync(join(model, 'config.json'), '{"architectures": ["Baseline"]}\n')
      writeFileSync(join(model, 'model.safetensors'), randomBytes(6 * MiB))
      const r = await runCli(['push', 'my-model', 'v1.3', '--workspace', ws], {
        env: cliEnv({ HF_ENDPOINT: hub.url, HF_TOKEN: token }),
      })
      expect(r.stderr).not.toMatch(/^error:/m)
      expect(r.code).toBe(0)
      const lines = r.stdout.split('\n')
      const progress = lines.filter((l) => l.startsWith('uploading model.safetensors: '))
      expect(progress.length).toBeGreaterThanOrEqual(1)
      // The file's last line: 100%, its average rate, and the total so far.
      expect(progress.at(-1)).toMatch(
        new RegExp(
          /^uploading model\.safetensors: 100% of 6\.0 MiB, [\d.]+ (MiB|KiB)\/s, done · /.source +
            /total \d+% of 6\.0 MiB, [\d.]+ (MiB|KiB)\/s, (ETA \d+ s|done)$/.source,
        ),
      )
      expect(lines.some((l) => /^hashing model\.safetensors: \d+% of 6\.0 MiB, /.test(l))).toBe(true)
      expect(r.stdout).toMatch(/^pushed pratikoai\/intent-classifier-v1\.3 /m)
      expect(hub.repos.get('pratikoai/intent-classifier-v1.3')?.private).toBe(true)
      expect(r.stdout + r.stderr).not.toContain(token)
    },
  )
})
