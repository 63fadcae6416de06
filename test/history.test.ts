import { describe, expect, it } from 'vitest'
import { previousModelOf, type HistoryEntry } from '../pipeline/history/audit-log.js'

const entry = (
  action: HistoryEntry['action'],
  from: string,
  to: string,
  extra: Partial<HistoryEntry> = {},
): HistoryEntry => ({
  at: '2026-11-26T00:00:00Z',
  action,
  env: 'production',
  from,
  to,
  outcome: 'success',
  deployed: true,
  user: 'u',
  host: 'h',
  ...extra,
})

describe('previousModelOf: history read as an undo stack (newest first)', () => {
  it('after two releases, goes back to the first', () => {
    expect(previousModelOf([entry('release', 'v1', 'v2'), entry('release', 'base', 'v1')], 'production')).toEqual({
      from: 'v1',
      to: 'v2',
    })
  })

  it('a second plain rollback keeps going back instead of swapping the last two', () => {
    const h = [
      entry('rollback', 'v2', 'v1', { undo: true }),
      entry('release', 'v1', 'v2'),
      entry('release', 'base', 'v1'),
    ]
    expect(previousModelOf(h, 'production')?.from).toBe('base')
  })

  it('skips failures, other environments and no-op changes; a rollback --to counts as a change', () => {
    const h = [
      entry('release', 'v2', 'v3', { outcome: 'rolled_back' }),
      entry('promote', 'v2', 'v2'),
      entry('release', 'x', 'y', { env: 'qa' }),
      entry('rollback', 'v1', 'v2', { undo: false }),
      entry('release', 'base', 'v1'),
    ]
    expect(previousModelOf(h, 'production')?.from).toBe('v1')
    expect(previousModelOf([], 'production')).toBeUndefined()
    expect(
      previousModelOf([entry('rollback', 'v1', 'base', { undo: true }), entry('release', 'base', 'v1')], 'production'),
    ).toBeUndefined()
  })
})
