// Learning-rate schedule: linear warmup then linear decay to 0, as Hugging Face's
// get_linear_schedule_with_warmup (the reference code trains with the HF Trainer).
//
// `step` counts optimizer steps already taken (0 for the first update). As in HF, the first update
// therefore uses lr·0 when there is warmup: the LambdaLR factor at step 0 is 0/warmup.

export interface LinearSchedule {
  /** Peak learning rate. */
  lr: number;
  warmupSteps: number;
  /** Optimizer steps in the whole run; the rate reaches 0 there. */
  totalSteps: number;
}

/** Learning rate of the update made after `step` updates. Pure. */
export function lrAt(step: number, schedule: LinearSchedule): number {
  if (step < schedule.warmupSteps) return (schedule.lr * step) / Math.max(1, schedule.warmupSteps);
  return schedule.lr * Math.max(0, (schedule.totalSteps - step) / Math.max(1, schedule.totalSteps - schedule.warmupSteps));
}

/** Warmup steps from a ratio of the total, rounded up as HF TrainingArguments.get_warmup_steps does. */
export function warmupSteps(totalSteps: number, ratio: number): number {
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`warmup ratio must be in [0, 1], got ${ratio}`);
  return Math.ceil(totalSteps * ratio);
}
