/** Names of environment variables whose values are secrets and must never be printed or stored. */
export const SECRET_ENV_VARS = [
  'HF_TOKEN',
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'FEEDBACK_API_TOKEN',
  'DATABASE_URL',
  'TEST_DATABASE_URL',
  'PGPASSWORD',
] as const

const MASK = '***'
// Hugging Face tokens look like hf_ followed by letters and digits; mask them even when we were not told the
// value: 30 or more (a real token has 34), or 10 or more with a digit. A config key such as hf_endpoint is a
// name, not a token.
const HF_TOKEN_PATTERN = /\bhf_(?:[A-Za-z0-9]{30,}|(?=[A-Za-z]*\d)[A-Za-z0-9]{10,})\b/g
// user:password@ in any URL.
const URL_PASSWORD_PATTERN = /([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]+)(@)/gi
const BEARER_PATTERN = /(Bearer\s+)[^\s"']+/gi
// An `Authorization:` header's credentials, whatever the scheme (Basic, token, …), also as a JSON key.
const AUTHORIZATION_PATTERN =
  /(authorization["']?\s*[:=]\s*["']?)(?:(basic|bearer|token|digest|negotiate)\s+)?[^\s"',;]+/gi
/** What any of the patterns needs somewhere in a text: texts without it skip them (most texts). */
const PATTERN_HINT = /hf_|:\/\/|bearer|authorization/i
/** Derived forms shorter than this are not masked: they would hide ordinary text. */
const MIN_FORM_LENGTH = 8

/**
 * The texts a secret can take in output besides itself (issue 25): URL-encoded, and base64 and base64url
 * at each of the three byte offsets it can start at inside a longer encoded text (`user:token` in a Basic
 * header, a token inside an encoded JSON blob). For each offset, only the characters that depend on the
 * secret's bytes alone: the ones at either end also encode the neighbouring bytes.
 */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret, encodeURIComponent(secret)])
  const bytes = Buffer.from(secret, 'utf8')
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64')
    // Character i encodes bits [6i, 6i + 6) of the stream; keep those inside the secret's bits.
    const first = Math.ceil((8 * offset) / 6)
    const end = Math.floor((8 * (offset + bytes.length)) / 6)
    const stable = encoded.slice(first, end)
    forms.add(stable)
    forms.add(stable.replace(/\+/g, '-').replace(/\//g, '_'))
  }
  return [...forms].filter((f) => f === secret || f.length >= MIN_FORM_LENGTH)
}

/** Masks known secret values and secret-looking patterns in text before it is printed or stored. */
export interface Redactor {
  (text: string): string
  /** Registers one more secret value to mask. */
  add(secret: string | undefined): void
}

export function createRedactor(secrets: Iterable<string | undefined> = []): Redactor {
  const values = new Set<string>()
  // Every form of every secret in one alternation, longest first so that a value containing another is
  // masked whole: one scan of a text instead of one per form (~8 per secret; measured 3-4x faster per line).
  let any: RegExp | undefined
  let every: RegExp | undefined
  const add = (secret: string | undefined): void => {
    if (!secret || secret.length < 4) return
    for (const form of secretForms(secret)) values.add(form)
    // A database URL's password is a secret of its own: it can appear without the rest of the URL.
    const password = passwordOfUrl(secret)
    if (password && password.length >= 4) for (const form of secretForms(password)) values.add(form)
    const source = [...values]
      .sort((a, b) => b.length - a.length)
      .map((v) => v.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
      .join('|')
    any = new RegExp(source)
    every = new RegExp(source, 'g')
  }
  for (const s of secrets) add(s)
  const redact = ((text: string): string => {
    const out = any?.test(text) ? text.replace(every!, MASK) : text
    if (!PATTERN_HINT.test(out)) return out
    return out
      .replace(HF_TOKEN_PATTERN, MASK)
      .replace(URL_PASSWORD_PATTERN, `$1${MASK}$3`)
      .replace(BEARER_PATTERN, `$1${MASK}`)
      .replace(AUTHORIZATION_PATTERN, (_all, head: string, scheme: string | undefined) =>
        scheme ? `${head}${scheme} ${MASK}` : `${head}${MASK}`,
      )
  }) as Redactor
  redact.add = add
  return redact
}

/** A redactor that knows the secret values present in this environment. */
export function redactorForEnv(env: Readonly<Record<string, string | undefined>>): Redactor {
  return createRedactor(SECRET_ENV_VARS.map((k) => env[k]))
}

function passwordOfUrl(value: string): string | undefined {
  try {
    const u = new URL(value)
    return u.password ? decodeURIComponent(u.password) : undefined
  } catch {
    return undefined
  }
}

/** Deep-redacts every string in a JSON-like value (for state files and history lines). */
export function redactDeep<T>(value: T, redact: (s: string) => string): T {
  if (typeof value === 'string') return redact(value) as T
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact)) as T
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, redact)])) as T
  }
  return value
}
