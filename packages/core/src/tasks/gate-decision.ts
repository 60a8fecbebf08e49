/** One image's first-stage gate outcome: does it go on to the routed (det / seg style) tasks? */
export interface GateDecision {
  /** Probability that the image holds a finding the routed heads should look at (1 without a gate). */
  probability: number;
  /** Whether the image goes on to the routed heads. */
  positive: boolean;
}
