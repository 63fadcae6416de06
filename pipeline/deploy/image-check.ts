import { isMap, isNode, isScalar, LineCounter, parseDocument } from 'yaml'

// In image mode the tag reaches the servers only through the service's `image:` (e.g.
// `ghcr.io/o/app:${IMAGE_TAG:-latest}`): if it does not use the tag variable, every host would pull
// the same image whatever modelship built, and the release would silently ship the old model.

/** One compose file of an environment, already read: its path (for messages) and its text. */
export interface ComposeFileText {
  readonly path: string
  readonly text: string
}

export type ServiceImageCheck =
  | { readonly ok: true; readonly image: string; readonly path: string; readonly line: number }
  | {
      readonly ok: false
      readonly message: string
      readonly fix: string
      readonly path?: string
      readonly line?: number
    }

/**
 * Does `image` interpolate `tagVar`? Compose forms that take the variable's value count: `${VAR}`,
 * `${VAR:-x}`, `${VAR-x}`, `${VAR:?x}`, `${VAR?x}` and `$VAR`. `$$` is a literal dollar, and
 * `${VAR:+x}` uses `x`, not the value, so neither counts.
 */
export function imageUsesTagVar(image: string, tagVar: string): boolean {
  for (let i = 0; i < image.length; i++) {
    if (image[i] !== '$') continue
    const next = image[i + 1]
    if (next === '$') {
      i++
      continue
    }
    if (next === '{') {
      const m = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(\}|:?[-?])/.exec(image.slice(i))
      if (m && m[1] === tagVar) return true
    } else {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(image.slice(i))
      if (m && m[1] === tagVar) return true
    }
  }
  return false
}

/**
 * Finds the service's `image:` as the environment's compose files merge it (the last file that sets it
 * wins) and checks that it uses `${<tagVar>…}`. Pure: the caller reads the files.
 */
export function checkServiceImage(o: {
  files: readonly ComposeFileText[]
  service: string
  tagVar: string
}): ServiceImageCheck {
  const example = `image: ghcr.io/<org>/<app>:\${${o.tagVar}:-latest}`
  let found: { image: string; path: string; line: number } | undefined
  for (const file of o.files) {
    const lines = new LineCounter()
    const doc = parseDocument(file.text, { lineCounter: lines, prettyErrors: false })
    if (doc.errors.length > 0) {
      const line = lines.linePos(doc.errors[0]!.pos[0]).line
      const message = `${file.path}:${line}: not valid YAML`
      return { ok: false, path: file.path, line, message, fix: 'fix the YAML syntax' }
    }
    const services = doc.get('services', true)
    const service = isMap(services) ? services.get(o.service, true) : undefined
    if (!isMap(service)) continue
    const image = service.get('image', true)
    if (image === undefined) continue
    const line = lines.linePos(isNode(image) && image.range ? image.range[0] : 0).line
    if (!isScalar(image) || typeof image.value !== 'string') {
      const message = `${file.path}:${line}: services.${o.service}.image is not a string`
      return { ok: false, path: file.path, line, message, fix: example }
    }
    found = { image: image.value, path: file.path, line }
  }
  if (!found) {
    return {
      ok: false,
      message: `services.${o.service} has no image: in ${o.files.map((f) => f.path).join(', ') || 'the compose files'}`,
      fix: `add ${example} to services.${o.service}`,
    }
  }
  if (!imageUsesTagVar(found.image, o.tagVar)) {
    return {
      ok: false,
      path: found.path,
      line: found.line,
      message:
        `${found.path}:${found.line}: services.${o.service}.image ${JSON.stringify(found.image)}` +
        ` does not use \${${o.tagVar}}`,
      fix: example,
    }
  }
  return { ok: true, ...found }
}
