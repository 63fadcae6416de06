export { createRetrier, isAbortError, networkCode, retryableStatus, UnreachableHostError } from './retry.js'
export type { Retrier, RetryCall, RetryPolicy } from './retry.js'
