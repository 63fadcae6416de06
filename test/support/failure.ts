import { expect } from 'vitest'
import { ModelshipError } from '../../pipeline/engine/errors.js'

/** Awaits a promise that must reject with a ModelshipError, and returns that error. */
export async function failure(p: Promise<unknown>): Promise<ModelshipError> {
  const e = await p.then(
    () => {
      throw new Error('expected the export to fail')
    },
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(ModelshipError)
  return e as ModelshipError
}
