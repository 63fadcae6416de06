import { join } from 'node:path'
import { findBuildArgAsSecretWarning } from '../pipeline/compose/secret-lint.js'
import { decideDeployTarget, deployRuledOut } from '../pipeline/deploy/deploy-target.js'
import { checkApp } from '../pipeline/doctor/app-checks.js'
import { checkComposeConfig, withoutRepeats } from '../pipeline/doctor/compose-config.js'
import { type Finding, findingLine } from '../pipeline/doctor/finding.js'
import { checkEnvironmentFiles, checkFeedbackSource, checkRunPaths } from '../pipeline/doctor/workspace-checks.js'
import { aggregateProblems, messageOf, ModelshipError } from '../pipeline/engine/errors.js'
import { currentModelOf, environmentOf } from '../pipeline/environment.js'
import { checkTrainer, userCacheDirOf } from '../pipeline/model/trainer-help.js'
import { isValidModelRef } from '../pipeline/registry/version.js'
import { checkGithubTarget } from '../pipeline/github/access.js'
import { checkWorkflows } from '../pipeline/doctor/workflows.js'
import { defineStep } from './step.js'

/** Checks everything a release needs before any long work; all problems are reported together. */
export const preflightStep = defineStep({
  name: 'preflight',
  title: 'Check config, workspace, trainer, registry, Docker and the app',
  inDryRun: 'run',
  outputs: ['deployTarget', 'currentModel', 'trainerFlags'],
  always: true,
  async run(ctx, deps, task) {
    const { config, files, sh, registry, log } = deps
    const env = environmentOf(config, ctx.envName)
    const errorsOf = (findings: readonly Finding[]): string[] =>
      findings.filter((f) => f.level === 'error').map(findingLine)
    const problems = errorsOf([
      ...(await checkEnvironmentFiles(config, ctx.envName, files)),
      await checkFeedbackSource(config, files, deps.secrets.databaseUrl),
      ...checkRunPaths(config, deps.stateDir),
    ])
    if (problems.length > 0) throw aggregateProblems(problems)

    // The three probes are independent and each waits on a child process (the trainer --help through a
    // pyenv shim, the registry, docker): run them side by side, report every problem together.
    task.output = `reading the trainer --help, checking ${registry.describe()}, Docker and the app`
    const trainerCheck = checkTrainer(config, {
      sh,
      stateDir: deps.stateDir,
      userCacheDir: userCacheDirOf(deps.env ?? {}),
    })
    const registryCheck = registry.checkAccess().then(
      () => undefined,
      (e: unknown) => e,
    )
    const deployCheck = (async () => {
      const targetCheck = decideDeployTarget(config, sh, { noDeploy: ctx.options.noDeploy })
      // The traps doctor names: all of them at once, before any long work (the compose plugin only when deploying).
      const app = await checkApp({
        config,
        envName: ctx.envName,
        files,
        sh,
        env: deps.env ?? {},
        // deploy.mode github: the workflow's runner builds and deploys, no compose plugin is needed here.
        willDeploy:
          deployRuledOut(config, { noDeploy: ctx.options.noDeploy }) !== undefined || config.deploy.mode === 'github'
            ? false
            : targetCheck.then((t) => t.enabled),
      })
      return { target: await targetCheck, app }
    })()
    // Compose's own view of this environment's files (plugin only, no engine): an error when the run deploys.
    const composeCheck = checkComposeConfig({
      config,
      envName: ctx.envName,
      envNames: [ctx.envName],
      sh,
      files,
      level: 'error',
    })
    const githubCheck =
      config.deploy.mode === 'github' && !ctx.options.noDeploy ? checkGithubTarget(deps, ctx.envName) : undefined
    const [trainer, registryError, { target, app }, composeConfig, github] = await Promise.all([
      trainerCheck,
      registryCheck,
      deployCheck,
      composeCheck,
      githubCheck,
    ])
    if (github) problems.push(...github.problems)
    if (github?.target) ctx.githubTarget = github.target
    // Trainer flags (pipeline/model/trainer-help.ts): every --flag a training run passes is in its --help.
    problems.push(...trainer.problems)
    for (const w of trainer.warnings) log.warn(w)
    if (trainer.flags) ctx.trainerFlags = trainer.flags
    if (trainer.fresh) ctx.trainerHelp = trainer.fresh
    if (registryError !== undefined) {
      if (registryError instanceof ModelshipError && registryError.code === 'STEP_FAILED') throw registryError
      problems.push(messageOf(registryError))
    }
    if (target.problem) problems.push(target.problem)
    problems.push(...errorsOf(app))
    // Without a deploy the files are only edited: compose refusing them is worth a warning, not a stop.
    const composeView = withoutRepeats(composeConfig, app).map((f) =>
      target.enabled || f.level !== 'error' ? f : { ...f, level: 'warn' as const },
    )
    problems.push(...errorsOf(composeView))
    if (problems.length > 0) throw aggregateProblems(problems)
    for (const f of [...app, ...composeView].filter((x) => x.level === 'warn')) log.warn(findingLine(f))
    for (const f of composeView.filter((x) => x.message.startsWith('skipped:'))) log.info(`${f.check}: ${f.message}`)
    // The app's CI builds with the build arg from a variable: a compose or image release does not reach it.
    if (config.deploy.mode !== 'github')
      for (const f of checkWorkflows(config, ctx.envName).filter((x) => x.level === 'warn')) log.warn(findingLine(f))

    for (const file of env.compose) {
      for (const w of findBuildArgAsSecretWarning(await files.readText(join(config.workspace, file)), {
        service: config.deploy.service,
      }))
        log.warn(`${file}: ${w}`)
    }
    // Re-read at every preflight, never restored from an earlier attempt: on --resume after a hand edit
    // the hand-edited model is what gates compare with and what a rollback returns to.
    const fromFiles = (await currentModelOf(config, ctx.envName, files)) ?? config.model.base_aliases[0] ?? 'unknown'
    // Files that already name this run's model were edited by this run: what ran before is the model then.
    const current = ctx.composeEdit && fromFiles === ctx.release?.modelId ? ctx.composeEdit.previousModel : fromFiles
    if (!isValidModelRef(current, config.model.base_aliases)) {
      throw new ModelshipError(
        'CONFIG',
        `${ctx.envName} is configured with ${JSON.stringify(current)}, which is not a model id`,
        {
          hint:
            `set ${config.deploy.build_arg} in ${env.edit.join(', ')} to a model id or a base alias ` +
            `(${config.model.base_aliases.join(', ')}), then run again`,
        },
      )
    }
    if (ctx.currentModel !== undefined && ctx.currentModel !== current) {
      log.warn(
        `${ctx.envName} was running ${ctx.currentModel} when this run started; the files now say ${current} (edited ` +
          `by hand?): using ${current}`,
      )
    }
    ctx.currentModel = current
    ctx.deployTarget = target.reason ? { enabled: target.enabled, reason: target.reason } : { enabled: target.enabled }
    const via = ctx.githubTarget
      ? `; deploys through ${ctx.githubTarget.workflow} on ${ctx.githubTarget.repo} ` +
        `(${ctx.githubTarget.variable}=${ctx.githubTarget.current ?? 'unset'})`
      : ''
    task.title =
      `Preflight: ${ctx.envName} runs ${current}; ` +
      `${registry.describe()}${target.enabled ? via : `; build/deploy/verify skipped (${target.reason})`}`
  },
})
