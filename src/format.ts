/** How numbers read in the reports, checks and terminal tables, one definition each. */

/** A share as a percentage ("40.0%"), or "—" when there is none. */
export const percent = (share: number | null | undefined, digits = 1): string =>
  share === null || share === undefined ? '—' : `${(share * 100).toFixed(digits)}%`;

/** A share as a bar of block characters, `width` of them at 100%. */
export const bar = (share: number | null, width = 20): string =>
  share === null ? '' : '█'.repeat(Math.round(Math.max(0, Math.min(1, share)) * width));
