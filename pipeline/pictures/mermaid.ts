import type { TrendRow } from './card-pictures.js'

// GitHub renders Mermaid in Markdown, $GITHUB_STEP_SUMMARY included: the trend as an `xychart-beta` there,
// where an SVG file could not be shown. Versions without numbers are left out (their table row says so).

/** A Mermaid xychart of accuracy and macro F1 by version, or undefined when no version has numbers. */
export function trendMermaid(trend: readonly TrendRow[], title: string): string[] | undefined {
  const drawn = trend.filter((t) => t.accuracy !== null && t.f1_macro !== null)
  if (drawn.length === 0) return undefined
  const values = drawn.flatMap((t) => [t.accuracy!, t.f1_macro!])
  const floor = Math.max(0, Math.floor((Math.min(...values) - 0.05) * 20) / 20)
  const numbers = (pick: (t: TrendRow) => number | null): string => drawn.map((t) => pick(t)!.toFixed(4)).join(', ')
  return [
    '```mermaid',
    'xychart-beta',
    `    title "${title.replace(/"/g, "'")}"`,
    `    x-axis [${drawn.map((t) => `"${t.version}${t.current ? ' (this)' : ''}"`).join(', ')}]`,
    `    y-axis "score" ${floor} --> 1`,
    `    line [${numbers((t) => t.accuracy)}]`,
    `    line [${numbers((t) => t.f1_macro)}]`,
    '```',
  ]
}
