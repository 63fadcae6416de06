import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type * as Vega from 'vega'
import type * as VegaLite from 'vega-lite'
import type { TopLevelSpec } from 'vega-lite'

// Vega-Lite compiles each spec to Vega; Vega's headless View renders it to SVG (renderer 'none': no canvas,
// no browser; text widths are estimated). ~0.3 s to load, so only a run that writes a model card loads it.

interface Libraries {
  vega: typeof Vega
  vegaLite: typeof VegaLite
}
let libraries: Promise<Libraries> | undefined

function loadLibraries(): Promise<Libraries> {
  libraries ??= (async () => {
    // The CLI's bundle has both in one CommonJS file beside it (tools/bundle.mjs); run from the sources, the
    // packages (ES modules).
    const bundled = fileURLToPath(new URL('./charts.cjs', import.meta.url))
    if (existsSync(bundled)) return createRequire(import.meta.url)(bundled) as Libraries
    const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')])
    return { vega, vegaLite }
  })()
  return libraries
}

/** One chart as a standalone SVG document (the same spec gives the same bytes). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { vega, vegaLite } = await loadLibraries()
  // Gradient and clip ids count up per process: reset, the same chart is the same bytes in any run (a
  // resumed push then finds the repo holding exactly what it would upload).
  ;(vega as unknown as { resetSVGDefIds(): void }).resetSVGDefIds()
  const compiled = vegaLite.compile(spec).spec
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' })
  try {
    const svg = await view.toSVG()
    return `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`
  } finally {
    view.finalize()
  }
}
