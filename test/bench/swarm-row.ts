import type { SwarmBenchResult } from './swarm-bench.js'

/** A row of the bench table (the shape of table.ts's Row, declared here: table.ts imports this file). */
interface Row {
  what: string
  modelship: string
  peakRss: string
  reference: string
  ratio: string
  target: string
  met: boolean | undefined
  note?: string
}

const WHAT = "release on a swarm: modelship's overhead over the same stack deploy and inspect done by a script"
/** Following Swarm by polling once a second, against the CLI's own wait for convergence. */
const TARGET_MS = 2000

const s = (ms: number): string => (ms / 1000).toFixed(2)

/** The bench row of issue 27 (its own file: the table's other rows are other benchmarks'). */
export function swarmRow(r: SwarmBenchResult | undefined, why: string): Row {
  if (!r) {
    return {
      what: WHAT,
      modelship: '—',
      peakRss: '—',
      reference: '—',
      ratio: '—',
      target: '≤ 2 s',
      met: undefined,
      note: why,
    }
  }
  return {
    what: WHAT,
    modelship: `${s(r.modelshipMs.min)} / ${s(r.modelshipMs.median)} / ${s(r.modelshipMs.max)} s`,
    peakRss: '—',
    reference: `${s(r.scriptMs.min)} / ${s(r.scriptMs.median)} / ${s(r.scriptMs.max)} s`,
    ratio: `+${s(r.overheadMs.median)} s (${(r.modelshipMs.median / r.scriptMs.median).toFixed(2)}×)`,
    target: '≤ 2 s',
    met: r.overheadMs.median <= TARGET_MS,
    note:
      `${r.rounds} rounds each, alternated; overhead = modelship − script per round (min ${s(r.overheadMs.min)}, ` +
      `max ${s(r.overheadMs.max)} s)`,
  }
}
