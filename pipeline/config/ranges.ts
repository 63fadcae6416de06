// The allowed range of every numeric setting, in one table: the validator checks each value against it and
// the README's settings table lists the same rows (issue 25: `1e400`, `.nan`, `-1`, `0` epochs are refused).

export interface NumericRange {
  min: number
  max: number
  /** True when the setting counts something (epochs, examples, seconds): a whole number. */
  integer: boolean
  /** Whether `min` itself is allowed (a learning rate must be above 0, not 0). */
  minInclusive?: boolean
  /** Whether `max` itself is allowed (a held-out fraction must be below 1). */
  maxInclusive?: boolean
}

const int = (min: number, max: number): NumericRange => ({ min, max, integer: true })
const real = (min: number, max: number, o: Partial<NumericRange> = {}): NumericRange => ({
  min,
  max,
  integer: false,
  ...o,
})

/** The numeric settings of modelship.yaml (`*`: any environment name). */
export const NUMERIC_SETTINGS: Readonly<Record<string, NumericRange>> = {
  'gates.min_accuracy': real(0, 1),
  'gates.min_class_f1': real(0, 1),
  'gates.min_per_label': int(1, 1_000_000_000),
  'deploy.health_timeout_s': int(1, 86_400),
  'environments.*.health_timeout_s': int(1, 86_400),
}

/**
 * trainer.args that the bundled trainer (and most trainers) give a meaning: a number there must fit it. Any
 * other numeric trainer argument only has to be finite (the trainer's own `--help` knows the rest).
 */
export const TRAINER_ARG_RANGES: Readonly<Record<string, NumericRange>> = {
  epochs: int(1, 100_000),
  'batch-size': int(1, 1_000_000),
  batch_size: int(1, 1_000_000),
  'max-length': int(1, 1_000_000),
  max_length: int(1, 1_000_000),
  'test-size': real(0, 1, { minInclusive: false, maxInclusive: false }),
  test_size: real(0, 1, { minInclusive: false, maxInclusive: false }),
  'learning-rate': real(0, 1_000, { minInclusive: false }),
  learning_rate: real(0, 1_000, { minInclusive: false }),
  'baseline-learning-rate': real(0, 1_000, { minInclusive: false }),
  baseline_learning_rate: real(0, 1_000, { minInclusive: false }),
  seed: int(0, 2 ** 32 - 1),
}

/** "a whole number from 1 to 86400", "a number above 0 and below 1": the range as the error message says it. */
export function describeRange(r: NumericRange): string {
  const what = r.integer ? 'a whole number' : 'a number'
  const high = r.maxInclusive === false ? `below ${r.max}` : `to ${r.max}`
  if (r.minInclusive !== false) return `${what} from ${r.min} ${high}`
  return `${what} above ${r.min} and ${r.maxInclusive === false ? high : `up ${high}`}`
}

/** A number's text as written, for messages: JSON would print Infinity and NaN as `null`. */
export function numberText(n: number): string {
  return Number.isNaN(n) ? '.nan' : n === Infinity ? 'Infinity (too large)' : n === -Infinity ? '-Infinity' : String(n)
}

/** Why `value` is not in `r`, or undefined when it is. */
export function outOfRange(value: unknown, r: NumericRange): string | undefined {
  if (typeof value !== 'number') return `expected ${describeRange(r)}`
  const low = r.minInclusive === false ? value > r.min : value >= r.min
  const high = r.maxInclusive === false ? value < r.max : value <= r.max
  if (!Number.isFinite(value) || !low || !high || (r.integer && !Number.isInteger(value)))
    return `expected ${describeRange(r)}`
  return undefined
}
