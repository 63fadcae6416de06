import { spawnSync } from 'node:child_process'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { PNG } from 'pngjs'

// Looking at a picture as a person would: the SVG must parse as XML, carry its numbers as text, and a real
// renderer (librsvg's rsvg-convert, Debian librsvg2-bin) must draw it into a PNG of its size with something on it.

export interface LookedAt {
  /** Every <text> element's content, in document order. */
  texts: string[]
  width: number
  height: number
  png?: { width: number; height: number; inkShare: number; colours: number }
}

const RENDERER = 'rsvg-convert'

/** Whether rsvg-convert runs here; with CI set its absence is an error (a test never skips in CI). */
export function rendererAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  const ok = spawnSync(RENDERER, ['--version'], { encoding: 'utf8' }).status === 0
  if (!ok && env.CI)
    throw new Error(`CI is set but ${RENDERER} is missing: apt-get install librsvg2-bin (.ci/run installs it)`)
  return ok
}

function collectTexts(node: unknown, out: string[]): void {
  if (Array.isArray(node)) for (const n of node) collectTexts(n, out)
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === 'text') {
        for (const t of Array.isArray(value) ? value : [value]) {
          if (typeof t === 'string' || typeof t === 'number') out.push(String(t))
          else if (t && typeof t === 'object' && '#text' in t) out.push(String((t as { '#text': unknown })['#text']))
          else collectTexts(t, out)
        }
      } else if (key !== '#text' && !key.startsWith('@_')) collectTexts(value, out)
    }
  }
}

/** Parses and (when `render`) rasterises one SVG document; throws with the parser's words when it is not XML. */
export function lookAtSvg(svg: string, render: boolean): LookedAt {
  const valid = XMLValidator.validate(svg)
  if (valid !== true) throw new Error(`not valid XML: ${valid.err.msg} at line ${valid.err.line}`)
  const doc = new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(svg) as {
    svg?: Record<string, string>
  }
  if (!doc.svg) throw new Error('the root element is not <svg>')
  const texts: string[] = []
  collectTexts(doc.svg, texts)
  const width = Number(doc.svg['@_width'])
  const height = Number(doc.svg['@_height'])
  const looked: LookedAt = { texts, width, height }
  if (!render) return looked
  const run = spawnSync(RENDERER, ['--format', 'png'], { input: svg, maxBuffer: 64 * 1024 * 1024 })
  if (run.status !== 0) throw new Error(`${RENDERER} failed: ${run.stderr.toString()}`)
  const png = PNG.sync.read(run.stdout)
  // "Ink": pixels that are not (nearly) white; colours: distinct RGB values.
  let ink = 0
  const colours = new Set<number>()
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!]
    if (r < 240 || g < 240 || b < 240) ink++
    colours.add((r << 16) | (g << 8) | b)
  }
  return {
    ...looked,
    png: { width: png.width, height: png.height, inkShare: ink / (png.width * png.height), colours: colours.size },
  }
}
