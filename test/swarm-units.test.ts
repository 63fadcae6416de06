import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { defaultConfig } from '../pipeline/config/config.js'
import { validateConfig } from '../pipeline/config/validate.js'
import {
  execInContainerCommand,
  stackDeployCommand,
  swarmInfoCommand,
  taskInspectCommand,
} from '../pipeline/deploy/swarm-commands.js'
import { decideOutcome, type FollowContext, type Observation } from '../pipeline/deploy/swarm-outcome.js'
import { stackFileOf } from '../pipeline/deploy/swarm-stack-file.js'
import { parseServiceInspect, parseServicePs, parseSwarmInfo } from '../pipeline/deploy/swarm-status.js'
import { durationSeconds, swarmServiceFindings } from '../pipeline/doctor/swarm-checks.js'

// Tier (a): the pure parts of swarm mode — builders, parsers, the stack file, the outcome state machine —
// fed with what compose 2.26.1 and dockerd 20.10 printed on this machine.

// `docker compose -f docker-compose.yml -f extra.yml config` (compose 2.26.1), as printed.
const COMPOSE_CONFIG = `name: app
services:
  app:
    build:
      context: /tmp/app
      dockerfile: Dockerfile
    depends_on:
      side:
        condition: service_started
        required: true
    deploy:
      replicas: 2
    environment:
      HF_INTENT_MODEL: pratikoai/intent-classifier-v1.3
    image: 127.0.0.1:5000/app:model-v1.3
    networks:
      default: null
      shared: null
    ports:
      - mode: ingress
        target: 8000
        published: "18000"
        protocol: tcp
  side:
    image: side:1
networks:
  default:
    name: app_default
  shared:
    name: corp_shared
    external: true
volumes:
  data:
    name: app_data
`

describe('the stack file made of docker compose config output', () => {
  const file = stackFileOf(COMPOSE_CONFIG, 'app')
  const stack = parse(file.text)

  it('drops what stack deploy refuses and keeps the rest', () => {
    expect(file.project).toBe('app')
    expect(file.image).toBe('127.0.0.1:5000/app:model-v1.3')
    expect(stack.name).toBeUndefined()
    expect(stack.services.app.build).toBeUndefined()
    expect(stack.services.app.ports[0].published).toBe(18000)
    expect(stack.services.app.depends_on).toEqual(['side'])
    expect(stack.services.app.environment).toEqual({ HF_INTENT_MODEL: 'pratikoai/intent-classifier-v1.3' })
    expect(stack.services.app.deploy).toEqual({ replicas: 2 })
  })

  it("names the project's networks and volumes after the stack, and leaves an external network's name alone", () => {
    expect(stack.networks.default).toEqual({})
    expect(stack.volumes.data).toEqual({})
    expect(stack.networks.shared).toEqual({ name: 'corp_shared', external: true })
  })

  it('refuses a service the files do not define', () => {
    expect(() => stackFileOf(COMPOSE_CONFIG, 'web')).toThrow(/define no service "web"/)
  })
})

// `docker service ps --no-trunc --format '{{json .}}'` after Swarm rolled a broken image back (dockerd 20.10).
const PS_AFTER_ROLLBACK = [
  '{"CurrentState":"Running 2 minutes ' +
    'ago","DesiredState":"Running","Error":"","ID":"stna2fww7qjjtrbg9xwk05nf7",' +
    '"Image":"127.0.0.1:5000/msapp:model-v1.1@sha256:1d97","Name":"ms_app.1","Node":"vm","Ports":""}',
  '{"CurrentState":"Shutdown 23 seconds ' +
    'ago","DesiredState":"Shutdown","Error":"","ID":"a5a4hr4x233n05etsglur5g66",' +
    '"Image":"127.0.0.1:5000/msapp:model-v1.2@sha256:e9bc","Name":"ms_app.2","Node":"vm","Ports":""}',
  '{"CurrentState":"Failed 25 seconds ago","DesiredState":"Shutdown","Error":"\\"task: non-zero exit (137): ' +
    'dockerexec: unhealthy ' +
    'container\\"","ID":"9lduea0vsuvyil04v3d7z72dr",' +
    '"Image":"127.0.0.1:5000/msapp:model-v1.2@sha256:e9bc","Name":"ms_app.2","Node":"vm","Ports":""}',
  '{"CurrentState":"Running 2 minutes ' +
    'ago","DesiredState":"Running","Error":"","ID":"ewh2m97grmz8fck173ksf5fg7",' +
    '"Image":"127.0.0.1:5000/msapp:model-v1.1@sha256:1d97","Name":"ms_app.2","Node":"vm","Ports":""}',
].join('\n')

const inspect = (o: { tag: string; update?: Record<string, string>; replicas?: number }) =>
  JSON.stringify([
    {
      ID: 'uonemjx2zwd9zo4mjydeghe62',
      Spec: {
        Name: 'ms_app',
        TaskTemplate: { ContainerSpec: { Image: `127.0.0.1:5000/msapp:${o.tag}@sha256:74e0`, Env: ['A=1'] } },
        Mode: { Replicated: { Replicas: o.replicas ?? 2 } },
      },
      ...(o.update ? { UpdateStatus: o.update } : {}),
    },
  ])

describe('what Swarm says, parsed', () => {
  it('reads the tasks of docker service ps: node, state, tag without the digest, the error unquoted', () => {
    const tasks = parseServicePs(`${PS_AFTER_ROLLBACK}\n\n`)
    expect(tasks).toHaveLength(4)
    expect(tasks[2]).toEqual({
      id: '9lduea0vsuvyil04v3d7z72dr',
      name: 'ms_app.2',
      node: 'vm',
      image: '127.0.0.1:5000/msapp:model-v1.2',
      tag: 'model-v1.2',
      desired: 'shutdown',
      state: 'failed',
      error: 'task: non-zero exit (137): dockerexec: unhealthy container',
    })
  })

  it('reads the spec and UpdateStatus of docker service inspect', () => {
    const svc = parseServiceInspect(
      inspect({
        tag: 'model-v1.1',
        update: { State: 'rollback_completed', StartedAt: 't1', Message: 'rollback completed' },
      }),
    )
    expect(svc).toMatchObject({
      name: 'ms_app',
      image: '127.0.0.1:5000/msapp:model-v1.1',
      tag: 'model-v1.1',
      replicas: 2,
      env: ['A=1'],
      update: { state: 'rollback_completed', startedAt: 't1', message: 'rollback completed' },
    })
    expect(parseServiceInspect(inspect({ tag: 'model-v1.0' })).update).toBeUndefined()
    expect(() => parseServiceInspect('[]')).toThrow(/no service/)
  })

  it('reads the swarm line of docker info', () => {
    expect(parseSwarmInfo('ah4a1z94m8ouk1ulnzlz5hsxi\ttrue\tactive\n')).toEqual({
      nodeId: 'ah4a1z94m8ouk1ulnzlz5hsxi',
      manager: true,
      state: 'active',
    })
    expect(parseSwarmInfo('\tfalse\tinactive').manager).toBe(false)
  })
})

describe('the outcome of a stack deploy, decided from Swarm', () => {
  const ctx: FollowContext = { baselineStartedAt: 't0', expectedTag: 'model-v1.2', quietMs: 0, timeoutMs: 10_000 }
  const obs = (o: { tag: string; update?: Record<string, string>; ps?: string; cli?: Observation['cli'] }) => ({
    service: parseServiceInspect(inspect(o)),
    tasks: parseServicePs(o.ps ?? ''),
    cli: o.cli ?? { state: 'running' as const },
  })

  it("is Swarm's rollback, with the failed task's error, though the CLI exited 0", () => {
    const o = obs({
      tag: 'model-v1.1',
      update: { State: 'rollback_completed', StartedAt: 't1' },
      ps: PS_AFTER_ROLLBACK,
      cli: { state: 'exited' },
    })
    expect(decideOutcome(o, ctx)).toEqual({
      kind: 'rolled_back',
      reason: 'ms_app.2 on vm: failed (model-v1.2): task: non-zero exit (137): dockerexec: unhealthy container',
    })
  })

  it('waits while updating, completes on completed, and ignores the state of an earlier update', () => {
    expect(decideOutcome(obs({ tag: 'model-v1.2', update: { State: 'updating', StartedAt: 't1' } }), ctx).kind).toBe(
      'waiting',
    )
    expect(decideOutcome(obs({ tag: 'model-v1.2', update: { State: 'completed', StartedAt: 't1' } }), ctx).kind).toBe(
      'completed',
    )
    // `completed` of the update before this deploy (same StartedAt), the spec not changed yet: not done.
    expect(decideOutcome(obs({ tag: 'model-v1.1', update: { State: 'completed', StartedAt: 't0' } }), ctx).kind).toBe(
      'waiting',
    )
  })

  it('is stuck when paused (either way) or without any change within the timeout', () => {
    for (const State of ['paused', 'rollback_paused']) {
      expect(decideOutcome(obs({ tag: 'model-v1.2', update: { State, StartedAt: 't1' } }), ctx)).toMatchObject({
        kind: 'stuck',
        state: State,
      })
    }
    const pending =
      '{"CurrentState":"Pending 22 seconds ago","DesiredState":"Running","Error":"\\"no suitable node (max replicas ' +
      'per node limit exceed)\\"","ID":"5vgm","Image":"r/app:model-v1.2","Name":"st_app.1","Node":"","Ports":""}'
    const o = obs({ tag: 'model-v1.2', update: { State: 'updating', StartedAt: 't1' }, ps: pending })
    expect(decideOutcome(o, { ...ctx, quietMs: 9_999 }).kind).toBe('waiting')
    expect(decideOutcome(o, { ...ctx, quietMs: 10_000 })).toEqual({
      kind: 'stuck',
      state: 'updating',
      reason:
        'no progress within 10s (st_app.1: pending (model-v1.2): no suitable node (max replicas per node limit ' +
        'exceed))',
    })
  })

  it(
    'is a failure when the CLI failed and the service did not change; a created service completes by its ' + 'tasks',
    () => {
      const failed = obs({ tag: 'model-v1.1', cli: { state: 'failed', message: 'services.app.ports must be a list' } })
      expect(decideOutcome(failed, ctx)).toEqual({ kind: 'failed', reason: 'services.app.ports must be a list' })
      const running = (slot: number, state = 'Running') =>
        `{"CurrentState":"${state} 1 second ` +
        `ago","DesiredState":"Running","Error":"","ID":"t${slot}",` +
        `"Image":"r/app:model-v1.2","Name":"app.${slot}","Node":"vm"}`
      const created = { ...ctx, baselineStartedAt: undefined }
      expect(decideOutcome(obs({ tag: 'model-v1.2', ps: running(1) }), created).kind).toBe('waiting') // 1 of 2
      expect(
        decideOutcome(obs({ tag: 'model-v1.2', ps: `${running(1)}\n${running(2, 'Starting')}` }), created).kind,
      ).toBe('waiting')
      expect(decideOutcome(obs({ tag: 'model-v1.2', ps: `${running(1)}\n${running(2)}` }), created).kind).toBe(
        'completed',
      )
    },
  )
})

describe('swarm commands are data', () => {
  it('deploys the stack through the host, detached=false, with the registry auth', () => {
    const cmd = stackDeployCommand({
      host: { kind: 'context', name: 'prod-manager' },
      stackFile: '/r/stack.yml',
      stack: 'shop',
    })
    expect(cmd.argv).toEqual([
      'docker',
      '--context',
      'prod-manager',
      'stack',
      'deploy',
      '--detach=false',
      '--with-registry-auth',
      '-c',
      '/r/stack.yml',
      'shop',
    ])
    const ssh = swarmInfoCommand({ kind: 'ssh', url: 'ssh://ops@m1' })
    expect(ssh.env).toEqual({ DOCKER_HOST: 'ssh://ops@m1' })
  })

  it('refuses names and ids the docker CLI would read as options', () => {
    expect(() => stackDeployCommand({ host: { kind: 'default' }, stackFile: 's.yml', stack: '--prune' })).toThrow(
      /not a stack name/,
    )
    expect(() => execInContainerCommand({ host: { kind: 'default' }, containerId: '-it', argv: ['true'] })).toThrow(
      /not a container id/,
    )
    expect(() => taskInspectCommand({ host: { kind: 'default' }, taskIds: ['--format'] })).toThrow(/not a task id/)
  })
})

const loadConfigFromLayers = (values: Record<string, unknown>) =>
  validateConfig(
    [
      { origin: 'defaults', values: defaultConfig() },
      { origin: 'modelship.yaml', values },
    ],
    '/ws',
  )

describe('config: deploy.mode swarm and deploy.stack', () => {
  it('takes swarm and a stack name; refuses a stack name docker would not take', () => {
    const ok = loadConfigFromLayers({ deploy: { mode: 'swarm', stack: 'shop-prod' } })
    expect(ok.errors).toEqual([])
    expect(ok.config.deploy).toMatchObject({ mode: 'swarm', stack: 'shop-prod' })
    expect(loadConfigFromLayers({ deploy: { mode: 'swarm' } }).config.deploy.stack).toBeNull()
    const bad = loadConfigFromLayers({ deploy: { mode: 'swarm', stack: 'Shop Prod' } })
    expect(bad.errors).toEqual(['deploy.stack (modelship.yaml): "Shop Prod" is not a stack name (a-z, 0-9, _ and -)'])
  })
})

describe('doctor in swarm mode: what Swarm needs to gate an update on health and roll it back', () => {
  const findings = (service: unknown, nodes = 1) =>
    Object.fromEntries(
      swarmServiceFindings(service, { name: 'app', file: 'docker-compose.yml', nodes }).map((f) => [f.check, f]),
    )

  it('passes a service with a healthcheck, failure_action rollback, a monitor window and start-first over 2', () => {
    const f = findings({
      healthcheck: { test: ['CMD', 'true'] },
      deploy: { replicas: 2, update_config: { failure_action: 'rollback', monitor: '10s', order: 'start-first' } },
    })
    expect(Object.values(f).map((x) => `${x.check} ${x.level}`)).toEqual([
      'swarm.healthcheck ok',
      'swarm.failure_action ok',
      'swarm.monitor ok',
      'swarm.order ok',
    ])
  })

  it('names each missing setting with the compose lines to add', () => {
    const f = findings({ deploy: { replicas: 1 } })
    expect(f['swarm.healthcheck']).toMatchObject({ level: 'error', file: 'docker-compose.yml' })
    expect(f['swarm.failure_action']).toMatchObject({
      level: 'error',
      fix: 'add to services.app: deploy: { update_config: { failure_action: rollback } }',
    })
    expect(f['swarm.monitor']?.fix).toBe('add to services.app: deploy: { update_config: { monitor: 10s } }')
    expect(f['swarm.order']).toMatchObject({ level: 'warn' })
    expect(findings({ healthcheck: { disable: true } })['swarm.healthcheck']?.level).toBe('error')
  })

  it('finds a max_replicas_per_node that start-first cannot satisfy on the swarm it has', () => {
    const service = {
      healthcheck: { test: ['CMD', 'true'] },
      deploy: {
        replicas: 2,
        placement: { max_replicas_per_node: 1 },
        update_config: { failure_action: 'rollback', monitor: '5s', order: 'start-first' },
      },
    }
    expect(findings(service, 2)['swarm.max_replicas_per_node']?.message).toMatch(/the update would stall/)
    expect(findings(service, 3)['swarm.max_replicas_per_node']).toBeUndefined()
  })

  it('reads compose durations', () => {
    expect(durationSeconds('1m30s')).toBe(90)
    expect(durationSeconds('500ms')).toBe(0.5)
    expect(durationSeconds('0s')).toBe(0)
    expect(durationSeconds('soon')).toBeUndefined()
  })
})
