// A terminal's picture of a trend: one block character per version, its height the value's place between
// the lowest and highest value shown (so a column of sparklines shares one scale).

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const
/** A version without a number: a gap, not a made-up height. */
export const NO_VALUE = '·'

export function sparkline(values: ReadonlyArray<number | null>, scale?: { min: number; max: number }): string {
  const known = values.filter((v): v is number => v !== null)
  const min = scale?.min ?? Math.min(...known)
  const max = scale?.max ?? Math.max(...known)
  return values
    .map((v) => {
      if (v === null) return NO_VALUE
      if (!(max > min)) return BLOCKS[3]
      const step = Math.round(((v - min) / (max - min)) * (BLOCKS.length - 1))
      return BLOCKS[Math.max(0, Math.min(BLOCKS.length - 1, step))]
    })
    .join('')
}
