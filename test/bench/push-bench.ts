/**
 * Push benchmark, whole processes: `modelship push` (createHfRegistry().push in a child process)
 * against a bare @huggingface/hub `uploadFiles` child on the same folder and the same Hub-compatible
 * server (another thread of this process, objects on tmpfs), alternating which goes first. Rows:
 * peak RSS (VmHWM of each child, from /proc/<pid>/status) for each size, wall time medians and their
 * ratio, and the bytes re-sent after a connection drop inside one file (retried in the same run).
 *
 *   npx tsx test/bench/push-bench.ts [sizeMiB ...] [--rounds N]     (default: 512 2048, 3 rounds)
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startHubServerInWorker, type WorkerHubServer } from '../hub-server/worker.js'

const MiB = 1024 * 1024
const ORG = 'bench'
const PREFIX = 'intent-classifier'
const TOKEN = `hf_bench${randomBytes(16).toString('hex')}`
const CHUNK = 16 * MiB
const CHILD = fileURLToPath(new URL('./push-child.ts', import.meta.url))

export interface PushBenchRow {
  sizeMiB: number
  modelshipPeakMiB: number
  barePeakMiB: number
  modelshipSeconds: number
  bareSeconds: number
  /** Median of modelship / bare wall times (target ≤ 1.05). */
  ratio: number
  /** Bytes sent again after a drop inside the big file, in the same run (target: ≤ one part). */
  resentAfterDropBytes: number
}
export interface PushBenchResult {
  rows: PushBenchRow[]
  chunkBytes: number
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path)
  const block = randomBytes(8 * MiB)
  for (let left = bytes; left > 0; ) {
    const n = Math.min(left, block.length)
    // Each block differs in its first bytes: no two parts hash alike, writing stays fast.
    randomBytes(64).copy(block)
    if (!out.write(Buffer.from(block.subarray(0, n))))
      await new Promise<void>((resolve) => out.once('drain', () => resolve()))
    left -= n
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
}

async function makeModelFolder(dir: string, sizeMiB: number): Promise<void> {
  await writeFile(join(dir, 'config.json'), JSON.stringify({ id2label: { 0: 'chitchat', 1: 'calculator' } }))
  await writeFile(
    join(dir, 'tokenizer.json'),
    JSON.stringify({ vocab: Array.from({ length: 20000 }, (_, i) => `tok${i}`) }),
  )
  await writeRandomFile(join(dir, 'model.safetensors'), sizeMiB * MiB)
}

interface ChildResult {
  seconds: number
  peakKiB: number
}

/** Runs one contender; peak RSS is the larger of the child's own VmHWM at exit and what we polled. */
function runChild(mode: 'modelship' | 'bare', dir: string, id: string, url: string): Promise<ChildResult> {
  const env = { ...process.env }
  delete env.NODE_EXTRA_CA_CERTS
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, dir, id, url, TOKEN], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let polled = 0
  const poll = setInterval(() => {
    try {
      const kib = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0)
      polled = Math.max(polled, kib)
    } catch {
      // exited between two polls
    }
  }, 25)
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      clearInterval(poll)
      const line = out.trim().split('\n').at(-1) ?? ''
      if (code !== 0) return reject(new Error(`${mode} push exited ${code}: ${out.slice(-300)}`))
      const r = JSON.parse(line) as { seconds: number; hwmKiB: number }
      resolve({ seconds: r.seconds, peakKiB: Math.max(r.hwmKiB, polled) })
    })
  })
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}
const mib = (kib: number) => kib / 1024

export async function runPushBench(
  opts: { sizesMiB?: number[]; rounds?: number; log?: (line: string) => void } = {},
): Promise<PushBenchResult> {
  const sizes = opts.sizesMiB ?? [512, 2048]
  const rounds = opts.rounds ?? 3
  const log = opts.log ?? ((line: string) => console.log(line))
  const server: WorkerHubServer = await startHubServerInWorker({
    multipartChunkSize: CHUNK,
    ...(existsSync('/dev/shm') ? { storeDir: '/dev/shm' } : {}),
  })
  const work = await mkdtemp(join(tmpdir(), 'modelship-push-bench-'))
  const rows: PushBenchRow[] = []
  let n = 0
  try {
    await server.addToken(TOKEN, { user: 'bench-bot', orgs: [{ name: ORG, role: 'write' }] })
    for (const sizeMiB of sizes) {
      const dir = join(work, `model-${sizeMiB}`)
      await mkdir(dir)
      await makeModelFolder(dir, sizeMiB)
      const ms: ChildResult[] = []
      const bare: ChildResult[] = []
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? (['modelship', 'bare'] as const) : (['bare', 'modelship'] as const)
        for (const who of order) {
          const id = `${ORG}/${PREFIX}-v1.${n++}`
          const r = await runChild(who, dir, id, server.url)
          ;(who === 'modelship' ? ms : bare).push(r)
          await server.deleteRepo(id)
        }
        const last = (rs: ChildResult[]) =>
          `${rs.at(-1)?.seconds.toFixed(2)} s, ${mib(rs.at(-1)?.peakKiB ?? 0).toFixed(0)} MiB`
        log(`push-bench ${sizeMiB} MiB round ${round + 1}: modelship ${last(ms)} · bare uploadFiles ${last(bare)}`)
      }

      // A drop half-way through the big file, retried inside the same push.
      const id = `${ORG}/${PREFIX}-v9.${n++}`
      const before = (await server.snapshot()).stats.lfsBytesReceived
      await server.setFailures({ dropAfterLfsBytes: Math.floor((sizeMiB * MiB) / 2) })
      await runChild('modelship', dir, id, server.url)
      await server.whenIdle()
      const received = (await server.snapshot()).stats.lfsBytesReceived - before
      await server.deleteRepo(id)
      await server.setFailures({})
      await rm(dir, { recursive: true, force: true })

      const row: PushBenchRow = {
        sizeMiB,
        modelshipPeakMiB: mib(Math.max(...ms.map((r) => r.peakKiB))),
        barePeakMiB: mib(Math.max(...bare.map((r) => r.peakKiB))),
        modelshipSeconds: median(ms.map((r) => r.seconds)),
        bareSeconds: median(bare.map((r) => r.seconds)),
        ratio: median(ms.map((r) => r.seconds)) / median(bare.map((r) => r.seconds)),
        resentAfterDropBytes: received - sizeMiB * MiB,
      }
      rows.push(row)
    }
  } finally {
    await server.close()
    await rm(work, { recursive: true, force: true })
  }
  log('')
  log(
    '| size | peak RSS modelship (≤ 200 MiB) | peak RSS bare uploadFiles | wall modelship | wall bare | ratio (≤ ' +
      '1.05) | re-sent after a drop (≤ one part) |',
  )
  log('| --- | --- | --- | --- | --- | --- | --- |')
  for (const r of rows) {
    log(
      `| ${r.sizeMiB} MiB | ${r.modelshipPeakMiB.toFixed(0)} MiB | ${r.barePeakMiB.toFixed(0)} MiB | ` +
        `${r.modelshipSeconds.toFixed(2)} s | ` +
        `${r.bareSeconds.toFixed(2)} s | ${r.ratio.toFixed(3)} | ${(r.resentAfterDropBytes / MiB).toFixed(1)} MiB ` +
        `(part ${CHUNK / MiB} MiB) |`,
    )
  }
  return { rows, chunkBytes: CHUNK }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2)
  const roundsAt = args.indexOf('--rounds')
  const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : undefined
  const sizes = args
    .filter((a, i) => (!a.startsWith('--') && i !== roundsAt + 1) || (roundsAt < 0 && !a.startsWith('--')))
    .map(Number)
  if (sizes.some((s) => !(Number.isInteger(s) && s > 0)) || (rounds !== undefined && !(rounds > 0))) {
    console.error(`usage: npx tsx test/bench/push-bench.ts [sizeMiB ...] [--rounds N]  (got ${JSON.stringify(args)})`)
    process.exit(2)
  }
  runPushBench({ ...(sizes.length ? { sizesMiB: sizes } : {}), ...(rounds ? { rounds } : {}) }).then(
    (r) => console.log(JSON.stringify(r)),
    (e: unknown) => {
      console.error(e)
      process.exit(1)
    },
  )
}
