import { formatBytes } from '../format/bytes.js'
/**
 * Progress a person can read for hashing and uploads: percent, MiB/s and ETA, per file and for the
 * whole transfer. Pure: the clock is injected, so the same events give the same lines in tests.
 */

/** One progress event (the registry's PushProgress has this shape). */
export interface TransferEvent {
  file: string
  phase: string
  /** Bytes done so far for this file in this phase, and the file's size. */
  bytes: number
  total: number
}

/** Where one file, or the whole phase, stands. */
export interface TransferMeasure {
  bytes: number
  total: number
  /** 0–100, whole; 100 for an empty total. */
  percent: number
  /** Average since the first event; undefined until some time has passed. */
  bytesPerSecond: number | undefined
  /** Time left at that rate; 0 when done, undefined while the rate is unknown. */
  etaMs: number | undefined
}

export interface TransferSnapshot {
  phase: string
  file: string
  fileMeasure: TransferMeasure
  /** Every file of this phase together (the expected sizes, plus any file not expected). */
  overall: TransferMeasure
  /** This event finished its file (or the phase): worth showing even when throttled. */
  finished: boolean
}

export interface TransferMeter {
  update(event: TransferEvent): TransferSnapshot
}

interface Track {
  startedAt: number
  startBytes: number
  bytes: number
  total: number
}

export interface MeterOptions {
  now: () => number
  /**
   * The files one phase will move (uploading: every file), so its overall percent counts files that
   * have not started yet. Other phases (hashing covers only large files) count the files seen so far.
   */
  expected?: { phase: string; files: ReadonlyArray<{ path: string; size: number }> }
}

/** A meter over progress events; files not expected are added to their phase's total when seen. */
export function createTransferMeter(o: MeterOptions): TransferMeter {
  const files = new Map<string, Track>()
  const phases = new Map<string, { startedAt: number; done: Map<string, number>; sizes: Map<string, number> }>()
  const phaseOf = (phase: string, at: number) => {
    let p = phases.get(phase)
    if (!p) {
      const expected = o.expected?.phase === phase ? o.expected.files : []
      p = { startedAt: at, done: new Map(), sizes: new Map(expected.map((f) => [f.path, f.size])) }
      phases.set(phase, p)
    }
    return p
  }
  return {
    update(ev) {
      const at = o.now()
      const key = `${ev.phase}\0${ev.file}`
      let track = files.get(key)
      // A new file (or one restarted after a retry) measures its rate from here.
      if (!track || ev.bytes < track.bytes) {
        track = { startedAt: at, startBytes: ev.bytes, bytes: ev.bytes, total: ev.total }
        files.set(key, track)
      }
      track.bytes = ev.bytes
      track.total = ev.total
      const phase = phaseOf(ev.phase, at)
      phase.sizes.set(ev.file, ev.total)
      phase.done.set(ev.file, Math.min(ev.bytes, ev.total))
      const overallBytes = sum(phase.done.values())
      const overallTotal = sum(phase.sizes.values())
      const fileMeasure = measure(track.bytes, track.total, track.bytes - track.startBytes, at - track.startedAt)
      const overall = measure(overallBytes, overallTotal, overallBytes, at - phase.startedAt)
      return { phase: ev.phase, file: ev.file, fileMeasure, overall, finished: ev.bytes >= ev.total }
    },
  }
}

function sum(values: Iterable<number>): number {
  let n = 0
  for (const v of values) n += v
  return n
}

function measure(bytes: number, total: number, moved: number, elapsedMs: number): TransferMeasure {
  const percent = total <= 0 ? 100 : Math.min(100, Math.floor((bytes / total) * 100))
  const bytesPerSecond = elapsedMs > 0 && moved > 0 ? (moved * 1000) / elapsedMs : undefined
  const left = Math.max(0, total - bytes)
  const etaMs = left === 0 ? 0 : bytesPerSecond ? (left / bytesPerSecond) * 1000 : undefined
  return { bytes, total, percent, bytesPerSecond, etaMs }
}

const MiB = 1024 * 1024

/** "12.3 MiB/s" (KiB/s below one MiB/s); "– MiB/s" while unknown. */
export function formatRate(bytesPerSecond: number | undefined): string {
  if (bytesPerSecond === undefined) return '– MiB/s'
  if (bytesPerSecond < MiB) return `${(bytesPerSecond / 1024).toFixed(1)} KiB/s`
  return `${(bytesPerSecond / MiB).toFixed(1)} MiB/s`
}

/** "ETA 42 s", "ETA 3 min 05 s", "ETA 1 h 02 min"; "ETA –" while unknown. */
export function formatEta(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return 'ETA –'
  const s = Math.ceil(ms / 1000)
  if (s < 60) return `ETA ${s} s`
  if (s < 3600) return `ETA ${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `ETA ${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`
}

function describe(m: TransferMeasure): string {
  const eta = m.etaMs === 0 ? 'done' : formatEta(m.etaMs)
  return `${m.percent}% of ${formatBytes(m.total)}, ${formatRate(m.bytesPerSecond)}, ${eta}`
}

/**
 * One line per snapshot:
 * `uploading model.safetensors: 45% of 266.0 MiB, 12.3 MiB/s, ETA 12 s · total 40% of 330.0 MiB, 12.1 MiB/s,
 * ETA 17 s` (one line).
 */
export function formatTransferLine(s: TransferSnapshot): string {
  return `${s.phase} ${s.file}: ${describe(s.fileMeasure)} · total ${describe(s.overall)}`
}

/**
 * Whether to show a line now: at most one per `intervalMs`, except lines that finish a file (so
 * every file's end is visible in a plain log).
 */
export function createThrottle(now: () => number, intervalMs: number): (finished: boolean) => boolean {
  let last: number | undefined
  return (finished) => {
    const at = now()
    if (!finished && last !== undefined && at - last < intervalMs) return false
    last = at
    return true
  }
}
