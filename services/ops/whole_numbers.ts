/**
 * The one check of the whole-number options the services take (sizes,
 * counts, intervals in ms): a value that is not a safe integer within its
 * bounds is a caller's mistake, a `RangeError` naming the option and the
 * value, thrown before anything starts. Settings are parsed and bounded
 * in config_values.ts first; this guards the constructors' other callers
 * (tests, the bench, other services).
 *
 * @module
 */

/** Bounds of {@linkcode checkWholeNumbers}, both included. */
export interface WholeNumberBounds {
  /** The least value allowed; 1 unless said. */
  min?: number;
  /** The greatest value allowed; `Number.MAX_SAFE_INTEGER` unless said. */
  max?: number;
}

/**
 * Throws `RangeError` for the first of `values` (option name -> value)
 * that is not a safe integer in [`min`, `max`].
 */
export function checkWholeNumbers(
  values: Record<string, number>,
  { min = 1, max = Number.MAX_SAFE_INTEGER }: WholeNumberBounds = {},
): void {
  for (const [name, value] of Object.entries(values)) {
    if (Number.isSafeInteger(value) && value >= min && value <= max) continue;
    const range = max === Number.MAX_SAFE_INTEGER
      ? `>= ${min}`
      : `in [${min}, ${max}]`;
    throw new RangeError(`${name} must be a whole number ${range}: ${value}`);
  }
}
