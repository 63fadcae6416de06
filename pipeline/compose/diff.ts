import { structuredPatch } from 'diff'

/**
 * A unified diff (`--- a/path`, `+++ b/path`, hunks with `context` lines around each change) of a
 * user's file before and after an edit; '' when equal. Hunk ranges follow GNU diff (`-5` for one
 * line, `-0,0` for none) and carriage returns are left out, so a CRLF file prints like any other.
 */
export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  if (before === after) return ''
  const patch = structuredPatch(`a/${path}`, `b/${path}`, before, after, undefined, undefined, { context })
  // jsdiff numbers an empty side from the line after it; GNU diff from the line before.
  const range = (start: number, len: number) => (len === 1 ? `${start}` : `${len === 0 ? start - 1 : start},${len}`)
  const out = [`--- a/${path}`, `+++ b/${path}`]
  for (const h of patch.hunks) {
    out.push(`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`)
    for (const line of h.lines) out.push(line.replace(/\r$/, ''))
  }
  return `${out.join('\n')}\n`
}
