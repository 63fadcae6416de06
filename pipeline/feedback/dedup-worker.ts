import type { MessagePort, Worker } from 'node:worker_threads'
import { ModelshipError } from '../engine/errors.js'
import { dedupCode } from './dedup.js'

/** Words of the control array shared with the worker (the worker's code repeats these numbers). */
const SUBMITTED = 0
const DONE = 1
const STOP = 2
const FAILED = 3
/** COUNT + slot: the rows of the batch in that slot. */
const COUNT = 4
const CONTROL_WORDS = 8
/** Batches in flight: one checked by the worker while the main thread fills the next (the writer swaps two). */
const DEDUP_SLOTS = 2
/** How long the main thread waits for a verdict without progress before it gives up on the worker. */
const STALL_MS = 60_000

/** A batch's dedup input and output, in memory shared with the worker. */
export interface DedupSlot {
  hashes: Int32Array
  labelIds: Int32Array
  verdicts: Uint8Array
  firstLabelIds: Int32Array
}

/**
 * The dedup table (dedup.ts) run on a worker thread, so that probing it (a quarter of a large export's
 * main-thread time, memory-bound) overlaps with parsing the next batch. Batches go through DEDUP_SLOTS
 * slots of shared memory in order, each answered in order, with the verdicts the table gives in this
 * thread: the caller writes a batch's rows only after `wait` for it returns.
 *
 * Handing over a batch costs an Atomics.store/notify, and the main thread blocks (Atomics.wait) only when
 * it needs verdicts not yet computed, never on the event loop: the writer's `add` stays synchronous.
 * The worker runs eval'd source text (dedupWorkerMain + dedupCode), which works alike from tsc output,
 * the esbuild bundle and vitest's in-process TypeScript, where a worker file path would not.
 */
export class DedupWorker {
  readonly slots: DedupSlot[]
  private readonly control: Int32Array
  private readonly worker: Worker
  private readonly port: MessagePort
  private submitted = 0
  private failure: Error | undefined
  private stopped: Promise<void> | undefined

  constructor(batchRows: number, reserveTexts: number) {
    const control = new SharedArrayBuffer(CONTROL_WORDS * 4)
    this.control = new Int32Array(control)
    const buffers = Array.from({ length: DEDUP_SLOTS }, () => new SharedArrayBuffer(batchRows * 25))
    this.slots = buffers.map((b) => slotViews(b, batchRows))
    // Taken here, not imported: only exports big enough for a worker load worker_threads (~1 ms at startup).
    const { MessageChannel, Worker } = process.getBuiltinModule('node:worker_threads')
    const { port1, port2 } = new MessageChannel()
    this.port = port1
    this.worker = new Worker(`(${dedupWorkerMain.toString()})(${dedupCode.toString()})`, {
      eval: true,
      workerData: { control, buffers, batchRows, reserveTexts, port: port2 },
      transferList: [port2],
    })
    this.worker.on('error', (e) => {
      this.failure ??= e
    })
    this.worker.on('exit', () => {
      this.failure ??= new Error('the dedup worker exited')
    })
  }

  /** Hands the batch in slot `submitted % DEDUP_SLOTS` (its `count` rows) to the worker; returns its number. */
  submit(count: number): number {
    const seq = this.submitted++
    this.control[COUNT + (seq % DEDUP_SLOTS)] = count
    Atomics.store(this.control, SUBMITTED, this.submitted)
    Atomics.notify(this.control, SUBMITTED)
    return seq
  }

  /** Blocks until batch `seq` has its verdicts in its slot. */
  wait(seq: number): void {
    const control = this.control
    let lastProgress = Date.now()
    for (;;) {
      const done = Atomics.load(control, DONE)
      if (done > seq) return
      if (Atomics.load(control, FAILED) !== 0) {
        const message = process.getBuiltinModule('node:worker_threads').receiveMessageOnPort(this.port)?.message
        throw new ModelshipError('STEP_FAILED', `deduplication failed: ${String(message ?? 'unknown error')}`)
      }
      if (this.failure) throw new ModelshipError('STEP_FAILED', `deduplication failed: ${this.failure.message}`)
      if (Atomics.wait(control, DONE, done, 1000) === 'timed-out' && Date.now() - lastProgress > STALL_MS)
        throw new ModelshipError('STEP_FAILED', `the dedup worker gave no verdict for ${STALL_MS / 1000} s`)
      if (Atomics.load(control, DONE) !== done) lastProgress = Date.now()
    }
  }

  /** Stops and terminates the worker; resolves once its thread is gone. Safe to call more than once. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      Atomics.store(this.control, STOP, 1)
      Atomics.notify(this.control, SUBMITTED)
      this.port.close()
      await this.worker.terminate()
    })()
    return this.stopped
  }
}

function slotViews(buffer: SharedArrayBuffer, rows: number): DedupSlot {
  return {
    hashes: new Int32Array(buffer, 0, rows * 4),
    labelIds: new Int32Array(buffer, rows * 16, rows),
    firstLabelIds: new Int32Array(buffer, rows * 20, rows),
    verdicts: new Uint8Array(buffer, rows * 24, rows),
  }
}

/**
 * The worker's code, run from its source text: it may reference nothing outside itself but Node's globals
 * and its argument, the dedup table's code (dedupCode). Not `require`: esbuild turns it into a helper of
 * the bundle's, which the worker does not have.
 */
function dedupWorkerMain(code: typeof dedupCode): void {
  const { workerData } = process.getBuiltinModule('node:worker_threads')
  const { control, buffers, batchRows, reserveTexts, port } = workerData as {
    control: SharedArrayBuffer
    buffers: SharedArrayBuffer[]
    batchRows: number
    reserveTexts: number
    port: MessagePort
  }
  // The control words, as in dedup-worker.ts.
  const SUBMITTED = 0
  const DONE = 1
  const STOP = 2
  const FAILED = 3
  const COUNT = 4
  const ctrl = new Int32Array(control)
  try {
    const dedup = new (code().Dedup)()
    if (reserveTexts > 0) dedup.reserve(reserveTexts)
    const slots = buffers.map((b) => ({
      hashes: new Int32Array(b, 0, batchRows * 4),
      labelIds: new Int32Array(b, batchRows * 16, batchRows),
      firstLabelIds: new Int32Array(b, batchRows * 20, batchRows),
      verdicts: new Uint8Array(b, batchRows * 24, batchRows),
    }))
    for (let seq = 0; ; seq++) {
      while (Atomics.load(ctrl, SUBMITTED) === seq && Atomics.load(ctrl, STOP) === 0) Atomics.wait(ctrl, SUBMITTED, seq)
      if (Atomics.load(ctrl, STOP) !== 0) return
      const slot = seq % slots.length
      const s = slots[slot]!
      dedup.checkBatch(s.hashes, s.labelIds, ctrl[COUNT + slot]!, s.verdicts, s.firstLabelIds)
      Atomics.store(ctrl, DONE, seq + 1)
      Atomics.notify(ctrl, DONE)
    }
  } catch (e) {
    port.postMessage(e instanceof Error ? e.message : String(e))
    Atomics.store(ctrl, FAILED, 1)
    Atomics.notify(ctrl, DONE)
  }
}
