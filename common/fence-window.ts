/**
 * The phases of a move inside its fence window, where writes are refused: from the first fence step (the drain) to
 * the end of the traffic switch. The warm-up runs before it, the verification after it.
 */
export const FENCE_WINDOW_PHASES: readonly string[] = ['fence', 'prepare', 'promote', 'switch'];
