/*
 * What a bench run produces: rows of figures, one value per system, written as a markdown table
 * and a JSON file.
 */

import type { SystemId } from './systems/system.js';

export type Better = 'higher' | 'lower';

export interface Target {
  /** What the issue asks, in words ("≥ best peer and ≥ 0.5× raw"). */
  readonly goal: string;
  readonly met: boolean;
  /** By how much it is met or missed. */
  readonly detail: string;
}

export interface Row {
  readonly workload: string;
  /** The case within the workload ("N=10, 64 B"). */
  readonly case: string;
  readonly metric: string;
  readonly unit: string;
  readonly better: Better;
  /** Figures per system; a failed verification leaves the value out and says why in `notes`. */
  readonly values: Partial<Record<SystemId, number>>;
  /** Relative spread over repeats (max − min) / median, per system. */
  readonly spread: Partial<Record<SystemId, number>>;
  readonly notes: Partial<Record<SystemId, string>>;
  /** A second figure shown beside the first (MB/s for fan-out). */
  readonly extra?: { readonly unit: string; readonly values: Partial<Record<SystemId, number>> };
  target?: Target;
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly load: readonly number[];
}

export interface RunReport {
  readonly startedAt: string;
  readonly mode: 'quick' | 'full';
  readonly seconds: number;
  readonly machine: Machine;
  readonly versions: Record<string, string>;
  /** Systems that did not run, and why. */
  readonly skipped: Record<string, string>;
  readonly rows: Row[];
  readonly notes: string[];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function spreadOf(values: readonly number[]): number {
  if (values.length < 2) return 0;
  return (Math.max(...values) - Math.min(...values)) / median(values);
}
