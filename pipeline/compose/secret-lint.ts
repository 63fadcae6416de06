import { isMap, isScalar, isSeq, type Document, type Node, type YAMLMap } from 'yaml'
import { follow, isMergePair, keyOf, sectionOf } from './locate.js'
import { lineColOf, parseComposeForReading } from './yaml-source.js'

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY/i

/** Names (and offsets) of the build args of a map, merged sources included, first occurrence each. */
function mapArgNames(doc: Document.Parsed, map: YAMLMap): Array<{ name: string; offset: number }> {
  const names: Array<{ name: string; offset: number }> = []
  const seen = new Set<string>()
  const collect = (m: YAMLMap, depth: number): void => {
    for (const p of m.items) {
      if (isMergePair(p)) {
        const sources = isSeq(p.value) ? p.value.items : [p.value]
        for (const s of sources) {
          const src = follow(doc, s, undefined).node
          if (isMap(src) && depth < 8) collect(src, depth + 1)
        }
        continue
      }
      const k = keyOf(doc, p.key)
      if (k !== undefined && !seen.has(k)) {
        seen.add(k)
        names.push({ name: k, offset: (p.key as Node).range?.[0] ?? 0 })
      }
    }
  }
  collect(map, 0)
  return names
}

/**
 * Warnings for secrets passed as build args of `service` (HF_TOKEN and anything named like a
 * token, secret or password): build args are stored in the image history (`docker history`).
 * A file that does not parse gives no warnings (the edit reports the error).
 */
export function findBuildArgAsSecretWarning(text: string, opts: { service: string }): string[] {
  let doc: Document.Parsed
  try {
    doc = parseComposeForReading(text, 'compose file')
  } catch {
    return []
  }
  const args = sectionOf(doc, opts.service, ['build', 'args'])
  if (!args) return []
  let names: Array<{ name: string; offset: number }> = []
  if (isMap(args.node)) names = mapArgNames(doc, args.node)
  else if (isSeq(args.node)) {
    for (const item of args.node.items) {
      const v = follow(doc, item, undefined).node
      if (!isScalar(v) || typeof v.value !== 'string') continue
      names.push({ name: v.value.split('=')[0]!, offset: v.range?.[0] ?? 0 })
    }
  }
  return names
    .filter(({ name }) => SECRET_NAME.test(name))
    .map(
      ({ name, offset }) =>
        `line ${lineColOf(text, offset).line}: services.${opts.service}.build.args passes ${name} as a build arg; ` +
        'build args stay in the image history (docker history), so the secret would ship with the image. ' +
        'Remove it: modelship passes HF_TOKEN as the build secret "hf_token" (RUN --mount=type=secret,id=hf_token).',
    )
}
