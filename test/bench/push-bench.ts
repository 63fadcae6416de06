/**
 * Push benchmark: modelship's `push` (createHfRegistry().push) against a bare `uploadFiles` call of
 * @huggingface/hub on the same files, side by side in one run against the same local Hub-compatible
 * server, then the resume after a connection dropped half-way.
 *
 *   npx tsx test/bench/push-bench.ts [sizeMiB]
 */
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { createRepo, uploadFiles } from '@huggingface/hub'
import { isModelshipError } from '../../pipeline/errors.js'
import { createHfRegistry } from '../../pipeline/registry/hf/index.js'
import type { PushRequest } from '../../pipeline/registry/types.js'
import { startHubServerInWorker, type WorkerHubServer } from '../hub-server/worker.js'

export interface PushBenchResult {
  modelshipSeconds: number
  bareSeconds: number
  /** modelshipSeconds / bareSeconds (target: <= 1.10). */
  ratio: number
  /** LFS bytes the second push sent after the first one was cut at 50%. */
  resumeResentBytes: number
  /** Objects complete on the server before the second push that it sent again (target: 0). */
  completeObjectsResent: number
  /** Bytes of the model folder pushed (both folders have this size). */
  totalBytes: number
}

const MiB = 1024 * 1024
const ORG = 'bench'
const PREFIX = 'intent-classifier'
const TOKEN = `hf_bench${randomBytes(16).toString('hex')}`

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path)
  for (let left = bytes; left > 0; ) {
    const n = Math.min(left, 8 * MiB)
    if (!out.write(randomBytes(n))) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
    left -= n
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
}

/** A model folder as the trainer writes it: one big safetensors file and a few small ones. */
async function makeModelFolder(dir: string, sizeMiB: number): Promise<string[]> {
  const small: Record<string, string> = {
    'config.json': JSON.stringify({ architectures: ['DebertaV2ForSequenceClassification'], id2label: { 0: 'chitchat', 1: 'calculator' } }, null, 2),
    'tokenizer_config.json': JSON.stringify({ model_max_length: 512, do_lower_case: false }),
    'special_tokens_map.json': JSON.stringify({ cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]' }),
    'tokenizer.json': JSON.stringify({ vocab: Array.from({ length: 20000 }, (_, i) => `tok${i}`) }),
    'metrics.json': JSON.stringify({ accuracy: 0.93, f1_macro: 0.91 }),
  }
  let smallBytes = 0
  for (const [name, text] of Object.entries(small)) {
    await writeFile(join(dir, name), text)
    smallBytes += Buffer.byteLength(text)
  }
  await writeRandomFile(join(dir, 'model.safetensors'), Math.max(sizeMiB * MiB - smallBytes, MiB))
  return ['model.safetensors', ...Object.keys(small)]
}

/**
 * Shards of ~32 MiB so that "objects complete before the drop" means something: the library uploads
 * 5 objects at once at about the same rate, so with 8 x 64 MiB none would be complete at 50%.
 */
async function makeShardedFolder(dir: string, sizeMiB: number): Promise<number> {
  const count = Math.max(8, Math.round(sizeMiB / 32))
  const shard = Math.floor((sizeMiB * MiB) / count)
  for (let i = 1; i <= count; i++) {
    await writeRandomFile(join(dir, `model-${String(i).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`), shard)
  }
  await writeFile(join(dir, 'config.json'), '{"model_type":"deberta-v2"}')
  return count
}

const fmt = (t: Timing | undefined) => (t ? `${t.seconds.toFixed(2)} s (busy ${t.busySeconds.toFixed(2)} s)` : '-')

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

const readme = (id: string) => `---\nlibrary_name: transformers\n---\n# ${id}\n`

function registry(server: WorkerHubServer, retries?: number) {
  return createHfRegistry({ endpoint: server.url, token: TOKEN, org: ORG, prefix: PREFIX, log: () => {}, ...(retries === undefined ? {} : { retries }) })
}

function pushRequest(modelId: string, dir: string): PushRequest {
  let latest = 0
  return {
    modelId,
    dir,
    extraFiles: [{ path: 'README.md', content: readme(modelId) }],
    commitMessage: `Add ${modelId}`,
    // A cheap consumer, like a progress bar that only stores the latest numbers.
    onProgress: (p) => {
      latest = p.bytes
    },
  }
}

interface Timing {
  seconds: number
  /** Time the main thread was busy (event-loop utilization): less noisy than wall time on a small VM. */
  busySeconds: number
}

async function timed(run: () => Promise<void>): Promise<Timing> {
  const t0 = performance.now()
  const elu = performance.eventLoopUtilization()
  await run()
  return { seconds: (performance.now() - t0) / 1000, busySeconds: performance.eventLoopUtilization(elu).active / 1000 }
}

async function timeModelship(server: WorkerHubServer, dir: string, id: string): Promise<Timing> {
  const t = await timed(async () => {
    await registry(server).push(pushRequest(id, dir))
  })
  await server.deleteRepo(id)
  return t
}

async function timeBare(server: WorkerHubServer, dir: string, files: readonly string[], id: string): Promise<Timing> {
  const t = await timed(async () => {
    // A bare push also has to create the (private) repo first.
    await createRepo({ repo: { type: 'model', name: id }, accessToken: TOKEN, hubUrl: server.url, private: true })
    await uploadFiles({
      repo: { type: 'model', name: id },
      accessToken: TOKEN,
      hubUrl: server.url,
      files: [...files.map((f) => pathToFileURL(join(dir, f))), { path: 'README.md', content: new Blob([readme(id)]) }],
      commitTitle: `Add ${id}`,
    })
  })
  await server.deleteRepo(id)
  return t
}

export async function runPushBench(opts: { sizeMiB?: number; rounds?: number; log?: (line: string) => void } = {}): Promise<PushBenchResult> {
  const sizeMiB = opts.sizeMiB ?? 512
  const rounds = opts.rounds ?? 7
  const log = opts.log ?? ((line: string) => console.log(line))
  // The server runs in its own thread with its objects on tmpfs when there is one: a real Hub is
  // another machine, and disk writeback made runs differ by seconds.
  const server = await startHubServerInWorker(existsSync('/dev/shm') ? { storeDir: '/dev/shm' } : {})
  const work = await mkdtemp(join(tmpdir(), 'modelship-push-bench-'))
  try {
    await server.addToken(TOKEN, { user: 'bench-bot', orgs: [{ name: ORG, role: 'write' }] })
    const modelDir = join(work, 'model')
    const shardDir = join(work, 'shards')
    await Promise.all([mkdir(modelDir), mkdir(shardDir)])
    const files = await makeModelFolder(modelDir, sizeMiB)
    log(`push-bench: ${sizeMiB} MiB model folder (model.safetensors + ${files.length - 1} small files + README.md), Hub-compatible server on ${server.url}`)

    // Side by side, alternating which goes first; the minimum of each is compared.
    const ms: Timing[] = []
    const bare: Timing[] = []
    let n = 0
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['modelship', 'bare'] as const) : (['bare', 'modelship'] as const)
      for (const who of order) {
        const id = `${ORG}/${PREFIX}-v1.${n++}`
        // Let the previous run's garbage and socket buffers settle; both sides get the same pause.
        await sleep(300)
        if (who === 'modelship') ms.push(await timeModelship(server, modelDir, id))
        else bare.push(await timeBare(server, modelDir, files, id))
      }
      log(`push-bench: round ${round + 1}: modelship push ${fmt(ms.at(-1))}, bare uploadFiles ${fmt(bare.at(-1))}`)
    }
    const wall = (ts: Timing[]) => ts.map((t) => t.seconds)
    const busy = (ts: Timing[]) => ts.map((t) => t.busySeconds)
    const modelshipSeconds = Math.min(...wall(ms))
    const bareSeconds = Math.min(...wall(bare))
    const ratio = modelshipSeconds / bareSeconds
    log(`push-bench: modelship push ${modelshipSeconds.toFixed(2)} s, bare uploadFiles ${bareSeconds.toFixed(2)} s (best of ${rounds}): ratio ${ratio.toFixed(3)} (target <= 1.10)`)
    log(`push-bench: medians: modelship ${median(wall(ms)).toFixed(2)} s, bare ${median(wall(bare)).toFixed(2)} s: ratio ${(median(wall(ms)) / median(wall(bare))).toFixed(3)}`)
    // Each round's two runs are back to back, so their ratio cancels slow drifts in machine load.
    const paired = ms.map((t, i) => t.seconds / (bare[i]?.seconds ?? t.seconds))
    log(`push-bench: per-round ratios ${paired.map((r) => r.toFixed(2)).join(' ')}: median ${median(paired).toFixed(3)}`)
    log(
      `push-bench: main-thread busy time (best of ${rounds}): modelship ${Math.min(...busy(ms)).toFixed(2)} s, bare ${Math.min(...busy(bare)).toFixed(2)} s: ` +
        `ratio ${(Math.min(...busy(ms)) / Math.min(...busy(bare))).toFixed(3)}`,
    )

    // Resume: cut the connection when half of the bytes have arrived, then push again.
    const shards = await makeShardedFolder(shardDir, sizeMiB)
    const id = `${ORG}/${PREFIX}-v2.0`
    const totalBytes = sizeMiB * MiB
    const lfsBytesAtStart = (await server.snapshot()).stats.lfsBytesReceived
    await server.setFailures({ dropAfterLfsBytes: Math.floor(totalBytes / 2) })
    const first = await registry(server, 0)
      .push(pushRequest(id, shardDir))
      .then(
        () => 'completed',
        (e: unknown) => (isModelshipError(e) ? `${e.code}` : 'crashed'),
      )
    await server.whenIdle()
    const before = await server.snapshot(id)
    const complete = new Map(Object.entries(before.lfs))
    const completeBytes = [...complete.values()].reduce((a, b) => a + b, 0)
    await registry(server).push(pushRequest(id, shardDir))
    const after = await server.snapshot(id)
    const resumeResentBytes = after.stats.lfsBytesReceived - before.stats.lfsBytesReceived
    const completeObjectsResent = [...complete.keys()].filter((oid) => after.stats.objectPuts[oid] !== before.stats.objectPuts[oid]).length
    log(
      `push-bench: resume: first push cut at ${(((before.stats.dropped?.atBytes ?? lfsBytesAtStart) - lfsBytesAtStart) / MiB).toFixed(1)} MiB (${first}); ` +
        `${complete.size} of ${shards} shards (${(completeBytes / MiB).toFixed(1)} MiB) were complete`,
    )
    log(
      `push-bench: resume: second push re-sent ${(resumeResentBytes / MiB).toFixed(1)} MiB of ${(totalBytes / MiB).toFixed(1)} MiB ` +
        `(minimum possible ${((totalBytes - completeBytes) / MiB).toFixed(1)} MiB); complete objects re-sent: ${completeObjectsResent}`,
    )
    await server.deleteRepo(id)
    return { modelshipSeconds, bareSeconds, ratio, resumeResentBytes, completeObjectsResent, totalBytes }
  } finally {
    await server.close()
    await rm(work, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = process.argv[2]
  const sizeMiB = arg === undefined ? undefined : Number(arg)
  if (sizeMiB !== undefined && !(Number.isInteger(sizeMiB) && sizeMiB > 0)) {
    console.error(`usage: npx tsx test/bench/push-bench.ts [sizeMiB]  (got ${JSON.stringify(arg)})`)
    process.exit(2)
  }
  runPushBench(sizeMiB === undefined ? {} : { sizeMiB }).then(
    (r) => console.log(JSON.stringify(r)),
    (e: unknown) => {
      console.error(e)
      process.exit(1)
    },
  )
}
