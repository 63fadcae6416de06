import { readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { acquireLock } from '../pipeline/engine/lock.js'
import { parseMetricsJson, type TrainingMetrics } from '../pipeline/model/metrics.js'
import { renderModelCard } from '../pipeline/registry/model-card.js'
import { compareVersions, modelIdFor, parseVersion, versionOfRepo } from '../pipeline/registry/version.js'
import { describePictures, PICTURE_FILES, renderPictureFiles } from '../pipeline/pictures/card-pictures.js'
import { readLineMetrics } from '../pipeline/pictures/line-metrics.js'
import { resolveModelRef } from '../pipeline/model/model-ref.js'
import { readLabels } from '../pipeline/model/trainer.js'
import { describePushFiles, formatBytes, listPushFiles } from '../pipeline/registry/model-folder.js'
import { createThrottle, createTransferMeter, formatTransferLine } from '../pipeline/progress/transfer.js'
import type { PushProgress } from '../pipeline/registry/types.js'
import { createPrompter, type Prompter } from './prompt.js'
import { type CommandContext, openWorkspace } from './workspace.js'
import { readTrainingOrigin, withoutAbsolutePathFiles } from '../pipeline/model/training-args.js'

export interface PushFlags {
  workspace?: string
  json?: boolean
  yes?: boolean
  ci?: boolean
  dryRun?: boolean
}

export async function pushCommand(
  path: string,
  versionText: string,
  flags: PushFlags,
  io: { prompter?: Prompter } = {},
  signal?: AbortSignal,
): Promise<number> {
  const ws = await openWorkspace({
    workspaceFlag: flags.workspace,
    json: flags.json === true,
    dryRun: flags.dryRun === true,
    writes: true,
  })
  const { config, registry } = ws.deps
  const { org, prefix } = config.model
  // `1.3`, `v1.3`, `<prefix>-v1.3` and `<org>/<prefix>-v1.3` all name the same version.
  const ref = resolveModelRef(versionText, { org, prefix, baseAliases: [] })
  const version =
    (ref.includes('/') ? versionOfRepo(ref, prefix, org) : undefined) ?? parseVersion(versionText, 'push <version>')
  const dir = resolve(ws.workspace, path)
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  )
  if (!isDir) throw new ModelshipError('BAD_INPUT', `push <path>: ${dir} is not a directory`)
  // The folder is a boundary: a link leading out of it is refused before any of its files is read (issue 25).
  const files = await listPushFiles(dir, config.trainer.exclude)
  const configJson = await readFile(join(dir, 'config.json'), 'utf8').catch(() => undefined)
  if (configJson === undefined)
    throw new ModelshipError('BAD_INPUT', `push <path>: ${dir} holds no config.json (is it a model folder?)`)
  try {
    JSON.parse(configJson)
  } catch (e) {
    throw new ModelshipError('BAD_INPUT', `${join(dir, 'config.json')}: not valid JSON (${(e as Error).message})`)
  }
  const metricsText = await readFile(join(dir, 'metrics.json'), 'utf8').catch(() => undefined)
  let metrics: TrainingMetrics | undefined
  if (metricsText !== undefined) {
    const parsed = parseMetricsJson(metricsText)
    if (!parsed.ok) throw new ModelshipError('BAD_INPUT', `${join(dir, 'metrics.json')}: ${parsed.problem}`)
    metrics = parsed.metrics
  }
  const modelId = modelIdFor(config.model.org, config.model.prefix, version)
  const hasCard = files.some((f) => f.path === 'README.md')
  const listing = [
    ...files.map((f) => `  ${f.path}  ${formatBytes(f.size)}`),
    ...(hasCard
      ? []
      : ['  README.md  (model card, generated)', ...PICTURES.map((f) => `  ${f}  (picture, generated)`)]),
  ]
  if (flags.dryRun) {
    ws.print(
      `would push ${modelId} (private) to ${registry.describe()}: ` +
        `${describePushFiles(files)}${hasCard ? '' : ' + README.md'}`,
    )
    for (const line of listing) ws.print(line)
    ws.print('dry run: nothing was uploaded')
    if (flags.json)
      ws.printJson({
        dryRun: true,
        modelId,
        registry: registry.describe(),
        files: hasCard ? files : [...files, ...['README.md', ...PICTURES].map((p) => ({ path: p, size: null }))],
      })
    return 0
  }
  const prompter = io.prompter ?? createPrompter({ yes: flags.yes === true || flags.ci === true, env: ws.env })
  const facts = [
    `push ${dir} as ${modelId} (private) to ${registry.describe()}: ${describePushFiles(files)}`,
    ...listing,
    '  no environment changes and nothing is redeployed',
  ]
  if (!(await prompter.confirm(facts.map(ws.deps.redact), `Push ${modelId}?`))) {
    ws.print('nothing pushed')
    return 0
  }
  await registry.checkAccess()
  const labels = await readLabels(dir, config.model.labels)
  // The card depends only on the folder, so pushing the same folder again is a no-op, not a new commit.
  const madeAt = (await stat(join(dir, 'config.json'))).mtime.toISOString()
  // No absolute local paths leave the machine; the card claims only what the trainer recorded.
  const rewritten = await withoutAbsolutePathFiles(dir, await listPushFiles(dir, config.trainer.exclude))
  if (rewritten.length)
    ws.print(`absolute local paths rewritten in the pushed ${rewritten.map((f) => f.path).join(', ')}`)
  // The pictures (when the folder brings no card of its own): its matrix, its per-class F1 beside the version
  // before it, and the trend of the line as the registry holds it.
  const line = hasCard ? [] : await readLineMetrics(registry)
  const earlier = line.filter((v) => compareVersions(v.version, version) < 0).at(-1)
  const pictures = describePictures({ modelId, version, metrics, labels, line, replaces: earlier?.id ?? null })
  const pictureFiles = hasCard ? [] : await renderPictureFiles(pictures)
  const card = renderModelCard({
    pictures,
    modelId,
    origin: await readTrainingOrigin(dir),
    license: config.model.license,
    labels,
    metrics: metrics ?? { accuracy: 0, f1_macro: 0, per_class: {} },
    datasetSha256: 'unknown',
    runId: 'manual push',
    createdAt: madeAt,
    ...(metrics ? {} : { metricsUnknown: true }),
  })
  // The same lock as a release: a push never races a release that is reserving or pushing versions.
  const lock = await acquireLock(
    join(ws.deps.stateDir, 'lock'),
    { runId: `push-${Date.now()}`, command: `push ${modelId}`, startedAt: new Date().toISOString() },
    (m) => ws.deps.log.warn(m),
  )
  const showProgress = progressPrinter(ws, await listPushFiles(dir, config.trainer.exclude))
  // The live line is ended before anything else is printed, an error included.
  const pushed = await registry
    .push({
      ...(signal ? { signal } : {}),
      exclude: config.trainer.exclude,
      modelId,
      dir,
      extraFiles: [
        ...rewritten,
        ...((await stat(join(dir, 'README.md')).then(
          () => true,
          () => false,
        ))
          ? []
          : [{ path: 'README.md', content: ws.deps.redact(card) }, ...pictureFiles]),
      ],
      commitMessage: `modelship push: ${modelId}`,
      onProgress: showProgress.update,
    })
    .finally(() => {
      showProgress.end()
      return lock.release()
    })
  ws.print(
    `pushed ${modelId} (${Object.keys(pushed.manifest).length} files, commit ${pushed.commit.slice(0, 12)}) to ` +
      `${registry.describe()}`,
  )
  if (flags.json) ws.printJson(pushed)
  return 0
}

const PICTURES = Object.values(PICTURE_FILES)

/**
 * Live progress of a push: in a terminal one line redrawn in place (on stderr, up to 5 times a
 * second); otherwise plain lines, one a second plus one per finished file, so CI logs stay short.
 */
function progressPrinter(ws: CommandContext, files: ReadonlyArray<{ path: string; size: number }>) {
  const now = (): number => ws.deps.clock.now().getTime()
  const meter = createTransferMeter({ now, expected: { phase: 'uploading', files } })
  const live = process.stderr.isTTY === true
  const shouldShow = createThrottle(now, live ? 200 : 1000)
  let drawn = false
  return {
    update: (p: PushProgress): void => {
      const snapshot = meter.update(p)
      if (!shouldShow(snapshot.finished)) return
      const line = formatTransferLine(snapshot)
      if (live) {
        process.stderr.write(`\r${ws.deps.redact(line).slice(0, (process.stderr.columns || 120) - 1)}\x1b[K`)
        drawn = true
      } else {
        ws.print(line)
      }
    },
    end: (): void => {
      if (drawn) process.stderr.write('\n')
    },
  }
}
