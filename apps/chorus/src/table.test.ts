import { describe, expect, it } from 'vitest';
import { createStyle } from './style.js';
import { displayWidth, renderTable } from './table.js';

const plain = createStyle(false);
const colour = createStyle(true);
// Removes SGR sequences (ESC [ n m) without a control character in a regex literal.
const ESC = String.fromCharCode(27);
const strip = (text: string): string =>
  text
    .split(ESC)
    .map((part, index) => (index === 0 ? part : part.replace(/^\[\d+m/, '')))
    .join('');

describe('renderTable', () => {
  it('aligns columns to the widest cell, header included, without trailing spaces', () => {
    const lines = renderTable(
      [{ header: 'GROUP' }, { header: 'MEMBERS', align: 'right' }, { header: 'OWNER' }],
      [
        ['org.example.Battery', '2', ':1.3'],
        ['a.B', '1,024', ':1.10'],
      ],
      plain,
    );
    expect(lines).toEqual([
      'GROUP                MEMBERS  OWNER',
      'org.example.Battery        2  :1.3',
      'a.B                    1,024  :1.10',
    ]);
  });

  it('measures plain text, so colours do not shift the columns', () => {
    const columns = [
      { header: 'A', colour: 'cyan' },
      { header: 'B', colour: 'yellow' },
      { header: 'C' },
    ] as const;
    const rows = [
      ['x', 'yy', 'z'],
      ['xxxx', 'y', 'zz'],
    ];
    const painted = renderTable(columns, rows, colour);
    expect(painted[1]).toContain('\u001b[36mx\u001b[39m');
    expect(painted.map(strip)).toEqual(renderTable(columns, rows, plain));
  });

  it('leaves out a column that is empty everywhere, and fills short rows', () => {
    const lines = renderTable(
      [{ header: '' }, { header: '' }, { header: '' }],
      [['a', '', 'c'], ['bb']],
      plain,
      {
        header: false,
      },
    );
    expect(lines).toEqual(['a   c', 'bb']);
  });

  it('indents, and takes another gap', () => {
    const lines = renderTable([{ header: 'K' }, { header: 'V' }], [['key', 'value']], plain, {
      header: false,
      indent: 4,
      gap: 1,
    });
    expect(lines).toEqual(['    key value']);
  });

  it('counts code points, not UTF-16 units', () => {
    expect(displayWidth('≥ 0 → ∞')).toBe(7);
    expect(displayWidth('𝄞')).toBe(1);
  });
});
