/** Deterministic pseudo-random numbers for test data, weights and fixed demo inputs (never for keys). */
export function seededRandom(seed: number): () => number {
  // mulberry32: tiny, deterministic, good enough for test weights.
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-scale, scale). */
export function randomFloats(count: number, rand: () => number, scale = 0.5): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}

