// `npm run bench -- swarm`: a release's deploy on a real single-node swarm, modelship against a shell script doing
// the same stack deploy and inspect. Both are whole processes, alternated in one run, each moving the service to
// the other of two published tags (a real Swarm rolling update every time):
// - modelship: `promote <model> --deploy --yes` in deploy.mode swarm (the tag from history: nothing is built),
//   without verify/model_check (the script has none): config, compose edit, stack file, stack deploy, following
//   Swarm until `completed`, history;
// - the script: `docker compose config` into a stack file (sed: the same edits), `docker stack deploy
//   --detach=false` (the CLI waits for convergence itself), `docker service inspect` of the UpdateStatus.
// The overhead is modelship's wall minus the script's, round by round.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { startSwarm } from '../support/swarm.js'
import { cleanup, CLI, cliEnv, FIXTURES, INSTANT_TRAINER_CONFIG, makeWorkspace } from '../support/workspace.js'
import { alternate, measure, type Spread, spread } from './measure.js'

export interface SwarmBenchResult {
  rounds: number
  modelshipMs: Spread
  scriptMs: Spread
  /** modelship − script, per round. */
  overheadMs: Spread
}

const SCRIPT = `set -euo pipefail
IMAGE_TAG="$TAG" docker compose --env-file .env.swarm -f docker-compose.yml -f docker-compose.production.yml config \\
  | grep -v -e '^name: ' -e '^    name: .*_default$' \\
  | sed -e "s|HF_INTENT_MODEL: .*|HF_INTENT_MODEL: $MODEL|" > "$STACK_FILE"
docker stack deploy --detach=false --with-registry-auth -c "$STACK_FILE" msw > /dev/null
state=$(docker service inspect --format '{{.UpdateStatus.State}}' msw_app)
[ "$state" = completed ] || { echo "update: $state" >&2; exit 1; }
`

export async function runSwarmBench(o: { rounds: number }): Promise<SwarmBenchResult> {
  const swarm = await startSwarm({ nodes: 1 })
  const ws = makeWorkspace({
    app: join(FIXTURES, 'swarm-app'),
    config: {
      ...INSTANT_TRAINER_CONFIG,
      deploy: { mode: 'swarm', stack: 'msw', health_timeout_s: 120, verify: null, model_check: null },
      environments: {
        production: { compose: ['docker-compose.yml', 'docker-compose.production.yml'], env_file: ['.env.swarm'] },
      },
    },
  })
  try {
    writeFileSync(join(ws, '.env.swarm'), `REGISTRY=${swarm.registry}\nBASE_IMAGE=${swarm.baseImage}\n`)
    const env = cliEnv(swarm.manager.env)
    const cli = (...args: string[]) =>
      measure([process.execPath, CLI, ...args, '--workspace', ws], { cwd: ws, env: env as NodeJS.ProcessEnv })
    // Two published versions to move between.
    await cli('release', '--yes')
    await cli('release', '--yes', '--force')
    let move = 0
    const next = () => (move++ % 2 === 0 ? '1.0' : '1.1')
    const runs = await alternate(o.rounds, {
      modelship: async () => (await cli('promote', `v${next()}`, '--deploy', '--yes')).wallMs,
      script: async () => {
        const v = next()
        const r = await measure(['bash', '-c', SCRIPT], {
          cwd: ws,
          env: {
            ...(env as NodeJS.ProcessEnv),
            TAG: `model-v${v}`,
            MODEL: `pratikoai/intent-classifier-v${v}`,
            STACK_FILE: join(ws, 'script-stack.yml'),
          },
        })
        return r.wallMs
      },
    })
    const overhead = runs.modelship.map((m, i) => m - runs.script[i]!)
    const result = {
      rounds: o.rounds,
      modelshipMs: spread(runs.modelship),
      scriptMs: spread(runs.script),
      overheadMs: spread(overhead),
    }
    console.log(stringify({ modelship: runs.modelship, script: runs.script }).trim())
    return result
  } finally {
    cleanup(ws)
    await swarm.stop()
  }
}
