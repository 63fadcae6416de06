/** Asks one question and resolves with the answer as typed. Tests inject their own. */
export type Ask = (question: string) => Promise<string>

/** Asks before a write, showing the facts first; answers yes by itself where nobody can answer. */
export interface Prompter {
  /** Whether a person is asked (a TTY, no --yes, no CI). */
  readonly interactive: boolean
  /** Prints `facts` then asks `question` [y/N]; true without asking when not interactive. */
  confirm(facts: readonly string[], question: string): Promise<boolean>
  /** Asks for a value; `fallback` when not interactive or the answer is empty. */
  text(question: string, fallback: string): Promise<string>
}

export interface PrompterOptions {
  /** --yes / --ci */
  yes?: boolean
  env?: Readonly<Record<string, string | undefined>>
  /** Whether stdin and stdout are terminals (default: process.stdin/stdout.isTTY). */
  tty?: boolean
  /** Where the facts and the question go (default: stderr, so --json stdout stays one object). */
  write?: (text: string) => void
  ask?: Ask
}

/** `--yes` is implied when CI is set (any non-empty value but `false`/`0`) or nobody is at a terminal. */
export function promptsAllowed(o: {
  yes?: boolean
  env?: Readonly<Record<string, string | undefined>>
  tty?: boolean
}): boolean {
  if (o.yes) return false
  const ci = o.env?.CI
  if (ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0') return false
  return o.tty ?? (process.stdin.isTTY === true && process.stderr.isTTY === true)
}

function readlineAsk(question: string): Promise<string> {
  // Taken here: a run nobody is asked anything in (--yes, CI, no terminal) does not load readline.
  const { createInterface } = process.getBuiltinModule('node:readline/promises')
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  return rl.question(question).finally(() => rl.close())
}

export function createPrompter(o: PrompterOptions = {}): Prompter {
  const interactive = promptsAllowed({ ...o, env: o.env ?? process.env })
  const write = o.write ?? ((text: string) => void process.stderr.write(text))
  const ask = o.ask ?? readlineAsk
  return {
    interactive,
    async confirm(facts, question) {
      if (!interactive) return true
      for (const line of facts) write(`${line}\n`)
      const answer = await ask(`${question} [y/N] `)
      return /^y(es)?$/i.test(answer.trim())
    },
    async text(question, fallback) {
      if (!interactive) return fallback
      const answer = (await ask(`${question} [${fallback}] `)).trim()
      return answer === '' ? fallback : answer
    },
  }
}
