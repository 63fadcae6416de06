import { Command, CommanderError, Option } from 'commander'
import { exitCodeOf, isModelshipError, messageOf, ModelshipError } from '../pipeline/engine/errors.js'
import { jsonAnswer, sessionRedactor as redact, session, wantsJson, writeJson } from './session.js'

// The CLI program (commander): every command and the one top-level catch. scripts/cli.ts is the entry.
// The one top-level catch: every error becomes one redacted line (+ details and a hint) and its exit code.
const controller = new AbortController()
let interrupts = 0
// With --json every exit prints exactly one JSON value on stdout (issue 25): the command's answer, else
// the one answerJson prints here for it — an error, a usage error, help, an interrupt, an uncaught throw.
const jsonMode = wantsJson(process.argv.slice(2))
/** The error the run ended with (for the failure's JSON object). */
let failure: unknown
/** Help or version text commander printed (on stderr in --json mode; the JSON object carries it too). */
let shownText = ''

// A reader that closes the pipe early (`modelship history | head -1`) is not an error: later writes are
// dropped and the command runs to its normal end (a release keeps going, then releases its lock).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e
  })
}

// First Ctrl-C: abort in-process work and stop every child group (SIGTERM, SIGKILL after a grace period).
// Second: SIGKILL the children at once; the run still unwinds (lock, state, history). Third: exit now.
function onSignal(signal: NodeJS.Signals): void {
  interrupts++
  if (interrupts > 2) {
    failure ??= new ModelshipError('INTERRUPTED', `${signal}: stopped at once (third interrupt)`)
    answerJson(130)
    process.exit(130)
  }
  if (interrupts === 2) {
    process.stderr.write(`\n${signal}: stopping now\n`)
    void session.stopChildren?.({ now: true })
    return
  }
  process.stderr.write(`\n${signal}: stopping (state is saved; \`modelship release --resume\` continues)\n`)
  controller.abort()
  void session.stopChildren?.()
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

function fail(e: unknown): number {
  failure = e
  const code = exitCodeOf(e)
  if (code === 130 && interrupts > 0) {
    process.stderr.write('interrupted: run `modelship release --resume` to continue\n')
    return code
  }
  process.stderr.write(`error: ${redact(messageOf(e).split('\n')[0] ?? '')}\n`)
  if (isModelshipError(e)) {
    if (e.details) process.stderr.write(`${redact(e.details).replace(/^/gm, '  ')}\n`)
    if (e.hint) process.stderr.write(`hint: ${redact(e.hint)}\n`)
  } else if (process.env.MODELSHIP_DEBUG && e instanceof Error && e.stack) {
    process.stderr.write(`${redact(e.stack)}\n`)
  }
  return code
}

/** What to do next, by exit code, when the error brought no hint of its own. */
const GENERIC_HINTS: Record<number, string> = {
  1: '`modelship runs` shows the run; `modelship release --resume` continues a release from the failed step',
  2: 'fix what the message names and run the command again; nothing was changed',
  3: 'the gate table above shows which gate; `--force` passes only the no-regression gate',
  4: 'wait for the other run to finish; `modelship runs` shows it',
  5: 'the previous model was restored; fix what the message names and release again',
  6: 'the message says what state things are in; `modelship current` shows what the files name',
  130: '`modelship release --resume` continues an interrupted release',
}

/** The failure's one JSON object (CONTRACT.md "Refused input and --json"). */
function failureObject(e: unknown, exitCode: number): Record<string, unknown> {
  const message =
    e === undefined
      ? `exit ${exitCode}`
      : (messageOf(e)
          .replace(/^error: /, '')
          .split('\n')[0] ?? '')
  const own = isModelshipError(e) ? e : undefined
  return {
    ok: false,
    status: 'failed',
    exitCode,
    error: {
      code: own?.code ?? (e instanceof CommanderError ? 'USAGE' : 'STEP_FAILED'),
      message,
      hint:
        own?.hint ?? (e instanceof CommanderError ? 'run with --help for usage' : (GENERIC_HINTS[exitCode] ?? null)),
      ...(own?.details ? { details: own.details } : {}),
    },
  }
}

/** In --json mode, the one JSON value of this exit when the command printed none. */
function answerJson(exitCode: number): void {
  if (!jsonMode || jsonAnswer.printed) return
  if (exitCode !== 0) writeJson(failureObject(failure, exitCode))
  else writeJson({ ok: true, exitCode: 0, ...(shownText ? { output: shownText } : {}) })
}

// An error thrown outside any command's promise chain still ends in one JSON object.
if (jsonMode) {
  const uncaught = (e: unknown): void => {
    const code = fail(e)
    answerJson(code)
    process.exit(code)
  }
  process.on('uncaughtException', uncaught)
  process.on('unhandledRejection', uncaught)
}

const workspaceOption = (): Option =>
  new Option('-w, --workspace <dir>', 'the app workspace (default: $MODELSHIP_WORKSPACE, else the current directory)')
const jsonOption = (prints: string): Option =>
  new Option('--json', `JSON on stdout: ${prints} (human output goes to stderr)`)
const envOption = (): Option => new Option('--env <name>', 'environment from modelship.yaml (default: production)')
const yesOption = (): Option =>
  new Option('-y, --yes', 'do not ask (implied when CI is set or stdin is not a terminal)')
const ciOption = (): Option => new Option('--ci', 'the same as --yes')

const EXIT = {
  ok: '0 done',
  failed: '1 a step failed (`release --resume` continues)',
  usage: '2 bad input, usage or config',
  gate: '3 a metrics gate rejected the model',
  locked: '4 another run holds the lock',
  rolledBack: '5 deploy or verify failed and the previous model was restored',
  restoreFailed: '6 that restore failed too',
  interrupted: '130 interrupted, or declined at the prompt (resumable)',
} as const

/** The help footer of a subcommand: examples, exit codes and anything else worth knowing. */
function helpFooter(examples: readonly string[], exits: readonly string[], extra: readonly string[] = []): string {
  return [
    '',
    'Examples:',
    ...examples.map((e) => `  $ ${e}`),
    '',
    'Exit codes:',
    ...exits.map((e) => `  ${e}`),
    ...extra,
    '',
  ].join('\n')
}

async function main(argv: string[]): Promise<number> {
  let exitCode = 0
  const program = new Command('modelship')
    .description('From labeled QA feedback to a redeployed intent classifier, in one command.')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // --json keeps stdout for the one JSON value: help and version go to stderr, and into that value.
      writeOut: (s) => {
        if (!jsonMode) return void process.stdout.write(s)
        shownText += s
        process.stderr.write(s)
      },
    })
    .addHelpText(
      'after',
      helpFooter(
        ['npx modelship init', 'npx modelship release --dry-run'],
        [EXIT.ok, EXIT.usage, "(each command's --help lists its own)"],
      ),
    )

  // The step table loads every step module: only when `release` (or its help) is what runs.
  const STEP_NAMES = argv.includes('release') ? (await import('../tasks/index.js')).STEP_NAMES : []
  program
    .command('release')
    .description('export → validate → train → gate → version → push → compose → build → deploy → verify → record')
    .addOption(workspaceOption())
    .option('--dry-run', 'print the plan (next model id, compose diff, commands) and change nothing')
    .option('--resume [run-id]', 'continue the newest unfinished run (or the given one)')
    .option('--from <step>', `with --resume: rerun from this step on (${STEP_NAMES.join(', ')})`)
    .addOption(envOption())
    .addOption(
      new Option('--bump <part>', 'major or minor (default: major when the label set changed)').choices([
        'major',
        'minor',
      ]),
    )
    .option('--no-deploy', 'stop after the compose update')
    .option('--force', 'pass the no-regression gate')
    .addOption(yesOption())
    .addOption(ciOption())
    .addOption(
      jsonOption('one summary object at the end (model id, steps, metrics, diff; on failure status and error)'),
    )
    .addHelpText(
      'after',
      helpFooter(
        ['npx modelship release --dry-run --env qa', 'npx modelship release --resume --from train'],
        Object.values(EXIT),
        [
          '',
          `Steps (for --from): ${STEP_NAMES.join(', ')}`,
          'In a terminal it asks before push, showing the next model id, the gate table and the compose diff.',
        ],
      ),
    )
    .action(async (opts) => {
      const { releaseCommand } = await import('./release.js')
      exitCode = await releaseCommand(opts, controller.signal)
    })

  program
    .command('init')
    .description('write a working, commented modelship.yaml for the app tree in the workspace (never overwrites one)')
    .addOption(workspaceOption())
    .addOption(yesOption())
    .addOption(ciOption())
    .addHelpText(
      'after',
      helpFooter(
        ['npx modelship init', 'npx modelship init --workspace ../my-app --yes'],
        [EXIT.ok, `${EXIT.usage} (also: modelship.yaml exists already)`],
      ),
    )
    .action(async (opts) => {
      const { initCommand } = await import('./init.js')
      exitCode = await initCommand({ ...opts, yes: opts.yes === true || opts.ci === true })
    })

  program
    .command('list')
    .description('versions in the registry, with metrics and which environment uses each')
    .addOption(workspaceOption())
    .addOption(jsonOption('an array of versions (id, version, private, created, accuracy, f1_macro, environments)'))
    .addHelpText('after', helpFooter(['npx modelship list', 'npm run -s models -- list --json'], [EXIT.ok, EXIT.usage]))
    .action(async (opts) => {
      const { listCommand } = await import('./list.js')
      exitCode = await listCommand(opts)
    })

  program
    .command('show')
    .description("a version's card: its metrics, the confusion matrix as a table, the trend and where its pictures are")
    .argument('<model-id>', 'a model id, short (v1.3, 1.3, <prefix>-v1.3) or full (<org>/<prefix>-v1.3)')
    .addOption(workspaceOption())
    .addOption(
      jsonOption('{ id, version, metrics, confusion_matrix: { labels, counts, total }, eval_set, trend, pictures }'),
    )
    .addHelpText(
      'after',
      helpFooter(
        ['npx modelship show v1.1', 'npm run -s models -- show pratikoai/intent-classifier-v1.1 --json'],
        [EXIT.ok, `${EXIT.usage} (also: no such version in the registry)`],
      ),
    )
    .action(async (modelId: string, opts) => {
      const { showCommand } = await import('./show.js')
      exitCode = await showCommand(modelId, opts)
    })

  program
    .command('current')
    .description('the model each environment is configured with, per file, and the value that wins after overrides')
    .addOption(workspaceOption())
    .addOption(new Option('--env <name>', 'only this environment (default: every environment)'))
    .addOption(
      jsonOption(
        '{ environments: { <env>: { model, files, effective } }, env } (every place each file sets the model, and ' +
          'the winner)',
      ),
    )
    .addHelpText(
      'after',
      helpFooter(['npx modelship current', 'npx modelship current --env production --json'], [EXIT.ok, EXIT.usage]),
    )
    .action(async (opts) => {
      const { currentCommand } = await import('./current.js')
      exitCode = await currentCommand(opts)
    })

  program
    .command('doctor')
    .description('every preflight check plus the app traps (Dockerfile, .dockerignore, compose variables and plugin)')
    .addOption(workspaceOption())
    .addOption(envOption())
    .addOption(jsonOption('the findings: [{ level: ok|warn|error, check, file, line, message, fix }]'))
    .addHelpText(
      'after',
      helpFooter(
        ['npx modelship doctor', 'npx modelship doctor --env qa --json'],
        [`0 no errors (warnings allowed)`, EXIT.usage],
      ),
    )
    .action(async (opts) => {
      const { doctorCommand } = await import('./doctor.js')
      exitCode = await doctorCommand(opts)
    })

  program
    .command('promote')
    .description(
      'point an environment at an existing model (or a base alias such as mdeberta); redeploys unless --no-deploy',
    )
    .argument(
      '<model-id>',
      'a model id, short (v1.3, 1.3, <prefix>-v1.3) or full (<org>/<prefix>-v1.3), or a base alias',
    )
    .addOption(workspaceOption())
    .addOption(envOption())
    // --deploy before --no-deploy: neither given leaves it undefined (redeploy where a deploy mode is set).
    .option(
      '--deploy',
      'build, redeploy and verify, and fail when that cannot be done (the default where deploy.mode deploys)',
    )
    .option('--no-deploy', 'only change the files')
    .option('--dry-run', 'show the diff and the commands and change nothing')
    .addOption(yesOption())
    .addOption(ciOption())
    .addOption(jsonOption('{ env, from, to, diff, deployed, runId }'))
    .addHelpText(
      'after',
      helpFooter(
        ['npx modelship promote v1.3 --env qa --no-deploy', 'npx modelship promote mdeberta --env production --yes'],
        [EXIT.ok, EXIT.usage, EXIT.locked, EXIT.rolledBack, EXIT.restoreFailed],
      ),
    )
    .action(async (modelId: string, opts) => {
      const { promoteCommand } = await import('./promote.js')
      exitCode = await promoteCommand(modelId, opts, controller.signal)
    })

  program
    .command('push')
    .description('upload a local model folder as <org>/<prefix>-v<version>')
    .argument('<path>', 'the model folder (config.json, weights, tokenizer)')
    .argument('<version>', '1.3, v1.3 or <prefix>-v1.3')
    .addOption(workspaceOption())
    .option('--dry-run', 'list the files and sizes it would upload; upload nothing')
    .addOption(yesOption())
    .addOption(ciOption())
    .addOption(
      jsonOption('the push record (model id, commit, manifest of files); with --dry-run the files it would upload'),
    )
    .addHelpText(
      'after',
      helpFooter(
        ['npx modelship push ./out/model 1.3 --dry-run', 'npx modelship push ./out/model v1.3 --yes'],
        [EXIT.ok, EXIT.failed, EXIT.usage],
      ),
    )
    .action(async (path: string, version: string, opts) => {
      const { pushCommand } = await import('./push.js')
      exitCode = await pushCommand(path, version, opts, {}, controller.signal)
    })

  program
    .command('rollback')
    .description('back to the previously promoted model (from history), or --to; redeploys unless --no-deploy')
    .addOption(workspaceOption())
    .addOption(envOption())
    .option('--to <model-id>', 'the model to go back to: short (v1.2, 1.2), full, or a base alias')
    .option('--resume [run-id]', 'continue the newest failed or interrupted rollback (or the given run)')
    .option(
      '--deploy',
      'build, redeploy and verify, and fail when that cannot be done (the default where deploy.mode deploys)',
    )
    .option('--no-deploy', 'only change the files')
    .option('--dry-run', 'show the diff and the commands and change nothing')
    .addOption(yesOption())
    .addOption(ciOption())
    .addOption(jsonOption('{ env, from, to, diff, deployed, runId }'))
    .addHelpText(
      'after',
      helpFooter(
        ['npx modelship rollback --env production', 'npx modelship rollback --to v1.2 --no-deploy --yes'],
        [EXIT.ok, EXIT.usage, EXIT.locked, EXIT.rolledBack, EXIT.restoreFailed],
      ),
    )
    .action(async (opts) => {
      const { rollbackCommand } = await import('./promote.js')
      exitCode = await rollbackCommand(opts, controller.signal)
    })

  program
    .command('history')
    .description('the audit log of releases, promotions and rollbacks, newest first')
    .addOption(workspaceOption())
    .addOption(new Option('--env <name>', 'only this environment (default: every environment)'))
    .addOption(jsonOption('an array of history entries, newest first'))
    .addHelpText(
      'after',
      helpFooter(['npx modelship history', 'npx modelship history --env production --json'], [EXIT.ok, EXIT.usage]),
    )
    .action(async (opts) => {
      const { historyCommand } = await import('./history.js')
      exitCode = await historyCommand(opts)
    })

  const runs = program
    .command('runs')
    .description('runs with status, current step, reserved model version and age, newest first')
    .addOption(workspaceOption())
    .addOption(
      jsonOption('an array of runs (runId, kind, env, status, step, modelId, pushed, createdAt, ageSeconds, problem)'),
    )
    .addHelpText(
      'after',
      helpFooter(
        ['npx modelship runs', 'npx modelship runs abandon 20250101-120000-a1b2c3'],
        [EXIT.ok, EXIT.usage, EXIT.locked],
      ),
    )
    .action(async (opts) => {
      const { runsCommand } = await import('./runs.js')
      exitCode = await runsCommand(opts)
    })
  runs
    .command('abandon')
    .description(
      'mark an unfinished run abandoned: --resume skips it and its reserved version is free (nothing is deleted)',
    )
    .argument('<run-id>')
    .addOption(workspaceOption())
    .addOption(jsonOption('the abandoned run as `runs --json` lists it'))
    .addHelpText(
      'after',
      helpFooter(
        [
          'npx modelship runs abandon 20250101-120000-a1b2c3',
          'npx modelship runs abandon 20250101-120000-a1b2c3 --json',
        ],
        [EXIT.ok, EXIT.usage, EXIT.locked],
      ),
    )
    .action(async (runId: string, opts) => {
      const { abandonCommand } = await import('./runs.js')
      exitCode = await abandonCommand(runId, { ...runs.opts(), ...opts })
    })

  if (argv.length <= 2) {
    program.outputHelp({ error: true })
    return 2
  }
  try {
    await program.parseAsync(argv)
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return 0
      failure = e
      return 2
    }
    return fail(e)
  }
  return exitCode
}

main(process.argv).then(
  (code) => {
    answerJson(code)
    process.exitCode = code
  },
  (e: unknown) => {
    const code = fail(e)
    answerJson(code)
    process.exitCode = code
  },
)
