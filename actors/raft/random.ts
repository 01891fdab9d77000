/**
 * A seeded pseudo-random generator (mulberry32) whose whole state is one
 * 32-bit integer, so it lives in the core's context and replays exactly
 * from a seed. The core draws from it only for election jitter.
 */

/** One draw: a value in [0, 1) and the generator state to keep for the next draw. */
export interface Draw {
  readonly value: number;
  readonly state: number;
}

/** mulberry32: a small, fast generator with a full 2^32 period; quality is ample for jitter. */
export function nextRandom(state: number): Draw {
  const next = (state + 0x6d2b79f5) | 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  const value = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  return { value, state: next };
}

/** A whole number drawn uniformly from [min, max); `min` itself when the range is empty. */
export function drawBetween(state: number, min: number, max: number): { readonly value: number; readonly state: number } {
  const draw = nextRandom(state);
  if (max <= min) return { value: min, state: draw.state };
  return { value: min + Math.floor(draw.value * (max - min)), state: draw.state };
}
