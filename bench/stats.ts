/** The spread of one figure over a bench's runs. */
export interface Spread {
  min: number;
  median: number;
  max: number;
  runs: number;
}

/** min/median/max of `values` (the median of an even count is the mean of the middle two); undefined when empty. */
export function spread(values: number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median: round(median), max: sorted.at(-1)!, runs: sorted.length };
}

/** A ratio of two medians, or why it could not be computed. */
export type Ratio = { value: number; numerator: string; denominator: string } | { missing: string };

/** median(numerator) / median(denominator), named after both figures; `missing` names the figure not measured. */
export function ratioOfMedians(
  figures: Record<string, Spread | undefined>,
  numerator: string,
  denominator: string,
): Ratio {
  const top = figures[numerator];
  const bottom = figures[denominator];
  if (!top) return { missing: `${numerator} was not measured` };
  if (!bottom) return { missing: `${denominator} was not measured` };
  if (bottom.median === 0) return { missing: `${denominator} has a median of 0` };
  return { value: round(top.median / bottom.median, 3), numerator, denominator };
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
