// Rate and time left of a long operation, from the Progress events it emits. The rate is smoothed
// (an exponentially weighted mean over time, so a slow start — a model loading before the first token —
// fades out), and no time left is given from the first measured rate alone.
import type { Progress } from './progress.ts';

/** Time constant of the smoothing (s): a rate measured this long ago weighs 1/e of a fresh one. */
export const RATE_TIME_CONSTANT_S = 20;
/** Rates measured before a time left is given (the first one alone would say it). */
export const MIN_RATE_SAMPLES = 2;

export interface RateEstimate {
  /** Units of `done` per second, smoothed; null until measured. */
  rate: number | null;
  /** Units of the progress counter (tokens) per second, smoothed; null when there is none or not yet measured. */
  counterRate: number | null;
  counterUnit: string | null;
  /** Seconds left at the smoothed rate; null while unknown (no total, too few samples, no progress yet). */
  secondsLeft: number | null;
}

/** A smoothed rate of one growing count: fed (time, value) pairs, it measures between successive increases. */
class SmoothedRate {
  #at = 0;
  #value = 0;
  #started = false;
  rate: number | null = null;
  samples = 0;

  add(value: number, nowMs: number): void {
    if (!this.#started) {
      [this.#started, this.#at, this.#value] = [true, nowMs, value];
      return;
    }
    if (value <= this.#value || nowMs <= this.#at) return;
    const dt = (nowMs - this.#at) / 1000;
    const instant = (value - this.#value) / dt;
    const alpha = 1 - Math.exp(-dt / RATE_TIME_CONSTANT_S);
    this.rate = this.rate === null ? instant : this.rate + alpha * (instant - this.rate);
    this.samples++;
    [this.#at, this.#value] = [nowMs, value];
  }
}

/** One operation's rate meter: feed it every Progress event; a new stage name starts the measurement afresh. */
export class RateMeter {
  #stage: string | null = null;
  #done = new SmoothedRate();
  #counter = new SmoothedRate();

  update(p: Progress, nowMs: number): RateEstimate {
    if (p.stage !== this.#stage) {
      this.#stage = p.stage;
      this.#done = new SmoothedRate();
      this.#counter = new SmoothedRate();
    }
    this.#done.add(p.done, nowMs);
    if (p.counter) this.#counter.add(p.counter.done, nowMs);
    const rate = this.#done.rate;
    const known = p.total > 0 && rate !== null && rate > 0 && this.#done.samples >= MIN_RATE_SAMPLES;
    return {
      rate,
      counterRate: p.counter ? this.#counter.rate : null,
      counterUnit: p.counter?.unit ?? null,
      secondsLeft: known ? Math.max(0, p.total - p.done) / rate : null,
    };
  }
}

/** Time left as a person reads it: 'about 40 s left', 'about 7 min left', 'about 2 h 05 min left'. */
export function formatEta(seconds: number): string {
  if (seconds < 60) return `about ${Math.max(1, Math.ceil(seconds))} s left`;
  const min = Math.round(seconds / 60);
  if (min < 60) return `about ${min} min left`;
  return `about ${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min left`;
}

/** A rate with its unit: '35.2 tokens/s', '0.45 steps/s', and per minute when under one a minute ('1.2 steps/min'). */
export function formatRate(perSecond: number, unit: string): string {
  const [v, per] = perSecond > 0 && perSecond < 1 / 60 ? [perSecond * 60, 'min'] : [perSecond, 's'];
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${unit}/${per}`;
}
