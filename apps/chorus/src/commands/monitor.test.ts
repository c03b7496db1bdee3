import type { MonitoredSignal } from '@chorus/client';
import { describe, expect, it } from 'vitest';
import { createStyle } from '../style.js';
import { SignalPrinter, signalJson } from './monitor.js';

function signal(seq: number, group: string, name: string, sender: string, payload: unknown): MonitoredSignal {
  return {
    group,
    signal: name,
    payload,
    meta: { seq, groupSeq: seq - 1, sender, group, signal: name, retained: false },
  };
}

describe('SignalPrinter', () => {
  it('prints seq, group, signal, sender and the payload as JSON, columns growing as it goes', () => {
    const printer = new SignalPrinter(createStyle(false));
    expect(printer.format(signal(7, 'org.example.Battery', 'LevelChanged', ':1.3', { percent: 42 }))).toBe(
      '7  org.example.Battery  LevelChanged  :1.3  {"percent":42}',
    );
    expect(printer.format(signal(8, 'a.B', 'Tick', ':1.12', undefined))).toBe(
      '8  a.B                  Tick          :1.12  -',
    );
    expect(printer.format(signal(1234, 'a.B', 'Bytes', ':1.3', new Uint8Array([1])))).toBe(
      '1234  a.B                  Bytes         :1.3   {"$bytes":"AQ=="}',
    );
  });
});

describe('signalJson', () => {
  it('is one JSON object per signal, without payload when the signal has none', () => {
    expect(JSON.parse(signalJson(signal(7, 'a.B', 'S', ':1.3', { percent: 42 })))).toEqual({
      seq: 7,
      groupSeq: 6,
      group: 'a.B',
      signal: 'S',
      sender: ':1.3',
      payload: { percent: 42 },
    });
    expect(JSON.parse(signalJson(signal(8, 'a.B', 'S', ':1.3', undefined)))).not.toHaveProperty('payload');
    expect(JSON.parse(signalJson(signal(9, 'a.B', 'S', ':1.3', null)))).toHaveProperty('payload', null);
  });
});
