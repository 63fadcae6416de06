import { describe, expect, it } from 'vitest'
import {
  compareVersions,
  isValidModelRef,
  modelIdFor,
  nextVersion,
  parseVersion,
  versionOfRepo,
} from '../pipeline/registry/version.js'

describe('versions', () => {
  it('parses 1.3 and v1.3, rejects the rest with the value named', () => {
    expect(parseVersion('1.3')).toEqual({ major: 1, minor: 3 })
    expect(parseVersion('v10.0')).toEqual({ major: 10, minor: 0 })
    for (const bad of ['1', '1.3.0', 'v1.x', '01.2', '-1.2', '1.3; rm -rf /', '']) {
      expect(() => parseVersion(bad, 'push <version>')).toThrow(
        `push <version>: '${bad}' is not a version like 1.3 or v1.3`,
      )
    }
  })

  it('orders semantically: v1.10 after v1.9', () => {
    const names = [
      'intent-classifier-v1.9',
      'intent-classifier-v1.10',
      'intent-classifier-v2.0',
      'intent-classifier-v1.2',
    ]
    const sorted = names.map((n) => versionOfRepo(n, 'intent-classifier')!).sort(compareVersions)
    expect(sorted.map((v) => `${v.major}.${v.minor}`)).toEqual(['1.2', '1.9', '1.10', '2.0'])
    expect(nextVersion(sorted, 'minor')).toEqual({ major: 2, minor: 1 })
    expect(nextVersion(sorted, 'major')).toEqual({ major: 3, minor: 0 })
    expect(nextVersion([], 'major')).toEqual({ major: 1, minor: 0 })
  })

  it('ignores names that do not parse and other orgs', () => {
    expect(versionOfRepo('intent-classifier-test', 'intent-classifier')).toBeUndefined()
    expect(versionOfRepo('intent-classifier-v1', 'intent-classifier')).toBeUndefined()
    expect(versionOfRepo('other/intent-classifier-v1.0', 'intent-classifier', 'pratikoai')).toBeUndefined()
    expect(versionOfRepo('pratikoai/intent-classifier-v1.0', 'intent-classifier', 'pratikoai')).toEqual({
      major: 1,
      minor: 0,
    })
    expect(modelIdFor('pratikoai', 'intent-classifier', { major: 1, minor: 10 })).toBe(
      'pratikoai/intent-classifier-v1.10',
    )
  })

  it('model refs: ids and aliases pass, injections do not', () => {
    const aliases = ['mdeberta', 'bart']
    expect(isValidModelRef('pratikoai/intent-classifier-v1.2', aliases)).toBe(true)
    expect(isValidModelRef('mdeberta', aliases)).toBe(true)
    for (const bad of [
      'evil\nx: y',
      'a/b; rm -rf /',
      '$(id)',
      'a/b"',
      "' or 1",
      '../../etc',
      'a/b c',
      'a/../b',
      'mdeberta2',
      'pratikoai/modèle',
      '-a/b',
      'a/b/c',
    ]) {
      expect(isValidModelRef(bad, aliases), bad).toBe(false)
    }
  })
})
