import { describe, expect, it } from 'vitest';
import { colourWanted, createStyle } from './style.js';

describe('colourWanted', () => {
  it('colours a terminal only, and never with NO_COLOR set (https://no-color.org)', () => {
    expect(colourWanted({ isTTY: true }, {})).toBe(true);
    expect(colourWanted({ isTTY: false }, {})).toBe(false);
    expect(colourWanted({}, {})).toBe(false);
    expect(colourWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourWanted({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
  });
});

describe('createStyle', () => {
  it('paints with ANSI codes when enabled, and is the identity otherwise', () => {
    expect(createStyle(true).red('x')).toBe('\u001b[31mx\u001b[39m');
    expect(createStyle(true).bold('')).toBe('');
    expect(createStyle(false).red('x')).toBe('x');
  });
});
