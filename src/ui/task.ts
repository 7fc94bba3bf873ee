// A long task shown on the page (import, evaluation, training, a pipeline step): what it is, how far it
// got, and how to cancel it. Its own module so that the page's state classes share it without importing
// each other.
import type { Progress } from '../util/progress.ts';

export interface Task {
  label: string;
  progress: Progress | null;
  startedAt: number;
  cancel: () => void;
}
