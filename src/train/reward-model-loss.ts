/**
 * The Bradley–Terry loss of a reward model on P preference pairs (TRL's RewardTrainer, InstructGPT):
 *   Δ_i = r_c,i − r_r,i − m_i                      (m_i: the pair's margin, 0 when none is given)
 *   L   = mean_i −log σ(Δ_i)  +  κ · mean_i (r_c,i + r_r,i)²      (κ: TRL's center_rewards_coefficient)
 *   ∂L/∂r_c,i = (σ(Δ_i) − 1)/P + 2κ(r_c,i + r_r,i)/P      ∂L/∂r_r,i = (1 − σ(Δ_i))/P + 2κ(r_c,i + r_r,i)/P
 * −log σ(x) = softplus(−x) is computed without overflow for any x.
 */

export interface BradleyTerryResult {
  loss: number;
  /** ∂L/∂r_c and ∂L/∂r_r [P]. */
  dchosen: Float64Array;
  drejected: Float64Array;
  /** Share of pairs with r_c > r_r (a tie counts half). */
  accuracy: number;
  /** Mean r_c − r_r. */
  margin: number;
}

/** log(1 + e^x) without overflow. */
export const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
export const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export function bradleyTerry(chosen: ArrayLike<number>, rejected: ArrayLike<number>, margins?: ArrayLike<number>, centerCoefficient = 0): BradleyTerryResult {
  const P = chosen.length;
  const dchosen = new Float64Array(P), drejected = new Float64Array(P);
  let loss = 0, right = 0, margin = 0;
  for (let i = 0; i < P; i++) {
    const d = chosen[i] - rejected[i], delta = d - (margins ? margins[i] : 0), sum = chosen[i] + rejected[i];
    loss += softplus(-delta) + centerCoefficient * sum * sum;
    const g = sigmoid(delta) - 1, center = 2 * centerCoefficient * sum;
    dchosen[i] = (g + center) / P;
    drejected[i] = (-g + center) / P;
    right += d > 0 ? 1 : d === 0 ? 0.5 : 0;
    margin += d;
  }
  return P === 0 ? { loss: 0, dchosen, drejected, accuracy: 0, margin: 0 } : { loss: loss / P, dchosen, drejected, accuracy: right / P, margin: margin / P };
}
