/**
 * A seeded pseudo-random generator for the simulated network and the
 * deterministic simulation: the same seed always yields the same sequence.
 *
 * xoshiro128** (Blackman and Vigna), seeded through splitmix32 so that any
 * integer seed, including small and adjacent ones, gives well-spread states.
 * Not cryptographic; only for reproducible fault schedules.
 */
export class SeededRandom {
  readonly #state: Uint32Array;

  /** `seed` is any safe integer; both of its 32-bit halves feed the state. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const low = seed >>> 0;
    const high = Math.floor(seed / 0x1_0000_0000) >>> 0;
    let mix = (low ^ Math.imul(high, 0x9e3779b9)) >>> 0;
    this.#state = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      mix = (mix + 0x9e3779b9) >>> 0;
      this.#state[i] = splitmix32(mix ^ high);
    }
    // xoshiro's all-zero state is a fixed point; splitmix32 makes it practically impossible, but be sure.
    if (this.#state.every((word) => word === 0)) this.#state[0] = 1;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s = this.#state;
    const s0 = s[0]!, s1 = s[1]!, s2 = s[2]!, s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = rotl(n3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    if (!(Number.isSafeInteger(min) && Number.isSafeInteger(max)) || max < min) {
      throw new RangeError(`int(${min}, ${max}): need integers with min <= max`);
    }
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** An index chosen with probability proportional to its weight. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((sum, w) => sum + Math.max(0, w), 0);
    if (!(total > 0)) throw new RangeError('weighted: every weight is zero');
    let point = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      point -= Math.max(0, weights[i]!);
      if (point < 0) return i;
    }
    return weights.length - 1;
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffled<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /**
   * An independent generator derived from this one, so that one consumer
   * drawing more or fewer numbers does not shift another consumer's sequence.
   */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32() * 0x20_0000 + (this.nextUint32() >>> 11));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
