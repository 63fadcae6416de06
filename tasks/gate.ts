import { join, resolve } from 'node:path'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { writeFileAtomic } from '../pipeline/fs-atomic.js'
import { describeEvalSet, evaluateModel } from '../pipeline/model/evaluate.js'
import {
  buildGateTable,
  formatGateTable,
  gateTableFailures,
  type GateScores,
  type GateTable,
} from '../pipeline/model/gate-table.js'
import { parseMetricsJson, type EvalSetMetrics } from '../pipeline/model/metrics.js'
import { need } from '../pipeline/release/context.js'
import { defineStep } from './step.js'

const fmt = (n: number): string => n.toFixed(4)

export const gateStep = defineStep({
  name: 'gate',
  title: 'Check metrics gates',
  inDryRun: 'skip',
  outputs: ['gate'],
  plan: (_ctx, deps) => [
    {
      kind: 'note',
      text:
        deps.config.gates.eval_set && deps.config.trainer.evaluate
          ? `gate: scores the new model and the current one on ${deps.config.gates.eval_set}`
          : "gate: needs the trained model's metrics (split metrics)",
    },
  ],
  inputs: (ctx, deps) => ({
    metrics: ctx.model?.metrics,
    gates: deps.config.gates,
    evaluate: deps.config.trainer.evaluate,
    current: ctx.currentModel,
    force: ctx.options.force,
  }),
  async run(ctx, deps, task) {
    const model = need(ctx, 'model')
    const current = need(ctx, 'currentModel')
    const { gates, trainer } = deps.config
    const labels = deps.config.model.labels
    const isBase = deps.config.model.base_aliases.includes(current)
    const notes: string[] = []
    let table: GateTable
    let evalSet: EvalSetMetrics | undefined

    if (gates.eval_set && trainer.evaluate) {
      // The same exam for both: the new model and the one the environment runs now, on gates.eval_set.
      const path = resolve(deps.config.workspace, gates.eval_set)
      const info = await describeEvalSet(path)
      task.output = `scoring the new model on ${info.name}`
      const newScores = await evaluateModel(deps.sh, trainer.evaluate, model.dir, path)
      let currentScores: Awaited<ReturnType<typeof evaluateModel>> | undefined
      if (isBase) notes.push(`${current} is a base alias, not a registry model: not scored, nothing to compare with`)
      else if (gates.no_regression) {
        task.output = `downloading ${current} from ${deps.registry.describe()}`
        const dir = join(ctx.runDir, 'current-model')
        if (await deps.registry.download(current, dir)) {
          task.output = `scoring ${current} on ${info.name}`
          currentScores = await evaluateModel(deps.sh, trainer.evaluate, dir, path)
        } else notes.push(`${current} is not in ${deps.registry.describe()}: nothing to compare with`)
      }
      // The running model's scores (and matrix) travel too: the card shows both on the same exam.
      evalSet = { ...info, ...newScores, ...(currentScores ? { current: { modelId: current, ...currentScores } } : {}) }
      table = buildGateTable({
        basis: 'eval set',
        evalSet: info,
        gates,
        labels,
        newScores,
        currentModel: current,
        notes,
        ...(currentScores ? { current: currentScores } : {}),
      })
      // The eval-set scores travel with the model too (metrics.json → card, list, history).
      await writeFileAtomic(
        join(model.dir, 'metrics.json'),
        `${JSON.stringify({ ...model.metrics, eval_set: evalSet }, null, 2)}\n`,
      )
    } else {
      let currentScores: GateScores | undefined
      if (gates.no_regression && !isBase) {
        const text = await deps.registry.readFile(current, 'metrics.json')
        const parsed = text === undefined ? undefined : parseMetricsJson(text)
        if (parsed?.ok) currentScores = parsed.metrics
        else
          notes.push(
            `no ${parsed ? 'valid ' : ''}metrics.json for ${current} in ${deps.registry.describe()}: nothing to ` +
              `compare with`,
          )
      }
      if (gates.eval_set && !trainer.evaluate)
        notes.push('gates.eval_set is set but trainer.evaluate is not: using split metrics')
      table = buildGateTable({
        basis: 'split metrics',
        gates,
        labels,
        newScores: model.metrics,
        currentModel: current,
        notes,
        ...(currentScores ? { current: currentScores } : {}),
      })
    }

    // Printed in the summary (and in a rejection's details): a terminal renderer would reflow it mid-run.
    const lines = formatGateTable(table)
    const failures = gateTableFailures(table, ctx.envName)
    const thresholdFailures = failures.filter((f) => f.rule !== 'gates.no_regression').map((f) => f.text)
    const regression = failures.filter((f) => f.rule === 'gates.no_regression').map((f) => f.text)
    if (thresholdFailures.length > 0 || (regression.length > 0 && !ctx.options.force)) {
      throw new ModelshipError('GATE_REJECTED', `rejected: ${[...thresholdFailures, ...regression].join('; ')}`, {
        details: lines.join('\n'),
        hint: thresholdFailures.length
          ? 'improve the data or lower the gate in modelship.yaml'
          : `the new model scores below ${current}, which ${ctx.envName} runs now; pass --force to release it anyway`,
      })
    }
    if (regression.length) deps.log.warn(`--force: ${regression.join('; ')}`)
    const accuracy = table.rows[0]!
    ctx.gate = {
      passed: true,
      forced: regression.length > 0,
      table,
      ...(accuracy.current !== undefined ? { baseline: { modelId: current, accuracy: accuracy.current } } : {}),
      ...(evalSet ? { evalSet } : {}),
    }
    const versus = accuracy.current !== undefined ? `, ≥ ${current} (${fmt(accuracy.current)})` : ''
    task.title =
      `Gates passed on ${table.basis}: accuracy ${fmt(accuracy.new)} ≥ ${gates.min_accuracy}, every class ` +
      `F1 ≥ ${gates.min_class_f1}${versus}`
  },
})
