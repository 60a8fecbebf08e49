/*
 * Temperature scaling of sigmoid outputs, p' = sigmoid(logit(p) / T), defined once: the trainer fits T on
 * validation data, the runtime applies it to what the exported graph returns.
 */

/** Largest |logit| a float32 probability can express (1 - 2^-24 is the last float32 below 1). */
const MAX_LOGIT = 16.6;

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/**
 * Probability -> logit, clamped to +-16.6 (a float32 sigmoid saturates there, so larger logits cannot be told apart).
 *
 * @example
 * logitOf(0.5);   // 0
 */
export function logitOf(p: number): number {
  if (!(p > 0)) return -MAX_LOGIT;
  if (!(p < 1)) return MAX_LOGIT;
  return Math.max(-MAX_LOGIT, Math.min(MAX_LOGIT, Math.log(p / (1 - p))));
}

/**
 * sigmoid(logit(p) / T): a probability after temperature scaling (T > 1 softens, T < 1 sharpens; the order of
 * probabilities never changes).
 *
 * @example
 * scaleProbability(0.99, 2);   // 0.909
 */
export function scaleProbability(p: number, temperature: number): number {
  return temperature === 1 ? p : sigmoid(logitOf(p) / temperature);
}

/**
 * The inverse of {@link scaleProbability}: the raw probability whose scaled value is `q` (maps a threshold given on
 * the calibrated scale back onto the graph's raw output).
 *
 * @example
 * unscaleProbability(scaleProbability(0.8, 2), 2);   // 0.8
 */
export function unscaleProbability(q: number, temperature: number): number {
  return temperature === 1 ? q : sigmoid(logitOf(q) * temperature);
}
