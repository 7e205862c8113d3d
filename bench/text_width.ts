/**
 * Width of a line of text in a common sans-serif face, without a canvas:
 * what the chart layout needs to place labels, legends and titles.
 *
 * The widths are Helvetica's (its AFM metrics, in thousandths of an em),
 * which Arial and Liberation Sans share: the charts name those faces first.
 * A 5% margin leaves room for a fallback face a little wider.
 *
 * @module
 */

/** Widths of the printable ASCII characters, space (32) to tilde (126). */
const ASCII_WIDTHS = `
278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278
556 556 556 556 556 556 556 556 556 556 278 278 584 584 584 556
1015 667 667 722 722 667 611 778 722 278 500 667 556 833 722 778
667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556
333 556 556 500 556 556 278 556 556 222 222 500 222 833 556 556
556 556 333 500 278 556 500 722 500 500 500 334 260 334 584
`.trim().split(/\s+/).map(Number);

/** The few other characters the charts print. */
const OTHER_WIDTHS: Readonly<Record<string, number>> = {
  "×": 584,
  "≥": 549,
  "≤": 549,
  "·": 278,
  "—": 1000,
  "–": 556,
  "…": 1000,
  "µ": 556,
};

/** What bold adds, on average, to Helvetica's widths. */
const BOLD_FACTOR = 1.07;
/** Room for a fallback face a little wider than Helvetica. */
const MARGIN = 1.05;

/** Options of {@linkcode textWidth}. */
export interface TextWidthOptions {
  /** In px. @default {11} */
  fontSize?: number;
  /** @default {false} */
  bold?: boolean;
}

/** The width in px of `text` on one line. */
export function textWidth(
  text: string,
  options: TextWidthOptions = {},
): number {
  const { fontSize = 11, bold = false } = options;
  let thousandths = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    thousandths += ASCII_WIDTHS[code - 32] ?? OTHER_WIDTHS[char] ?? 556;
  }
  return (thousandths / 1000) * fontSize * (bold ? BOLD_FACTOR : 1) * MARGIN;
}
