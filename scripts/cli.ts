#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander'
import { exitCodeOf, isModelshipError, messageOf } from '../pipeline/engine/errors.js'
import { sessionRedactor as redact, session } from './session.js'

// The one top-level catch: every error becomes one redacted line (+ details and a hint) and its exit code.
const controller = new AbortController()
let interrupts = 0

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
  if (interrupts > 2) process.exit(130)
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
  const code = exitCodeOf(e)
  if (code === 130) {
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

const workspaceOption = (): Option => new Option('-w, --workspace <dir>', 'the app workspace (default: $MODELSHIP_WORKSPACE, else the current directory)')
const jsonOption = (): Option => new Option('--json', 'print one JSON object on stdout (human output goes to stderr)')
const envOption = (): Option => new Option('--env <name>', 'environment from modelship.yaml (default: production)')

async function main(argv: string[]): Promise<number> {
  let exitCode = 0
  const program = new Command('modelship')
    .description('From labeled QA feedback to a redeployed intent classifier, in one command.')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })

  program
    .command('release')
    .description('export → validate → train → gate → version → push → compose → build → deploy → verify → record')
    .addOption(workspaceOption())
    .option('--dry-run', 'print the plan (next model id, compose diff, commands) and change nothing')
    .option('--resume [run-id]', 'continue the newest unfinished run (or the given one)')
    .option('--from <step>', 'with --resume: rerun from this step on')
    .addOption(envOption())
    .addOption(new Option('--bump <part>', 'major or minor (default: major when the label set changed)').choices(['major', 'minor']))
    .option('--no-deploy', 'stop after the compose update')
    .option('--force', 'pass the no-regression gate')
    .option('-y, --yes', 'do not ask for confirmation')
    .addOption(jsonOption())
    .action(async (opts) => {
      const { releaseCommand } = await import('./release.js')
      exitCode = await releaseCommand(opts, controller.signal)
    })

  program
    .command('list')
    .description('versions in the registry, with metrics and which environment uses each')
    .addOption(workspaceOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      const { listCommand } = await import('./list.js')
      exitCode = await listCommand(opts)
    })

  program
    .command('current')
    .description('the model each environment is configured with, per file')
    .addOption(workspaceOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      const { currentCommand } = await import('./current.js')
      exitCode = await currentCommand(opts)
    })

  program
    .command('doctor')
    .description('every preflight check plus the app traps (Dockerfile, .dockerignore, compose variables and plugin)')
    .addOption(workspaceOption())
    .addOption(envOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      const { doctorCommand } = await import('./doctor.js')
      exitCode = await doctorCommand(opts)
    })

  program
    .command('promote')
    .description('point an environment at an existing model (or a base alias such as mdeberta)')
    .argument('<model-id>')
    .addOption(workspaceOption())
    .addOption(envOption())
    .option('--deploy', 'also build, redeploy and verify')
    .addOption(jsonOption())
    .action(async (modelId: string, opts) => {
      const { promoteCommand } = await import('./promote.js')
      exitCode = await promoteCommand(modelId, opts, controller.signal)
    })

  program
    .command('push')
    .description('upload a local model folder as <org>/<prefix>-v<version>')
    .argument('<path>')
    .argument('<version>', '1.3 or v1.3')
    .addOption(workspaceOption())
    .addOption(jsonOption())
    .action(async (path: string, version: string, opts) => {
      const { pushCommand } = await import('./push.js')
      exitCode = await pushCommand(path, version, opts, controller.signal)
    })

  program
    .command('rollback')
    .description('back to the previously promoted model (from history), or --to')
    .addOption(workspaceOption())
    .addOption(envOption())
    .option('--to <model-id>', 'the model to go back to (may be a base alias)')
    .option('--no-deploy', 'only change the files')
    .addOption(jsonOption())
    .action(async (opts) => {
      const { rollbackCommand } = await import('./promote.js')
      exitCode = await rollbackCommand(opts, controller.signal)
    })

  program
    .command('history')
    .description('the audit log of releases, promotions and rollbacks, newest first')
    .addOption(workspaceOption())
    .addOption(envOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      const { historyCommand } = await import('./history.js')
      exitCode = await historyCommand(opts)
    })

  try {
    await program.parseAsync(argv)
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0
      return 2
    }
    return fail(e)
  }
  return exitCode
}

main(process.argv).then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    process.exitCode = fail(e)
  },
)
