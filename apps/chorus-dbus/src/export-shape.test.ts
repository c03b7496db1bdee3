import { defineGroup } from '@chorus/client';
import { Variant } from '@jellybrick/dbus-next';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { exportShapeOf, fromBody, introspectionXml, toBody } from './export-shape.js';
import { parseIntrospection } from './introspection.js';

const Player = defineGroup('org.example.Player', {
  signals: {
    Seeked: z.object({ position: z.number().int(), label: z.string().optional() }),
    Mixed: z.object({
      flag: z.boolean(),
      name: z.string(),
      kind: z.enum(['a', 'b']),
      ratio: z.number(),
      small: z.number().int().min(0).max(100),
      tags: z.array(z.string()),
      pair: z.tuple([z.string(), z.number()]),
      meta: z.object({ rating: z.number() }),
      counts: z.record(z.string(), z.number().int().min(0).max(9)),
      maybe: z.string().nullable(),
      anything: z.unknown(),
    }),
  },
  methods: {
    SetVolume: { input: z.object({ level: z.number() }), output: z.object({ applied: z.number() }) },
  },
});

describe('export shape', () => {
  it('maps each JSON Schema type to its documented D-Bus default', () => {
    const shape = exportShapeOf(Player.jsonSchema());
    expect(shape.signals.get('Mixed')?.signature).toBe('bssdias(sd)a{sv}a{si}vv');
    expect(shape.signals.get('Seeked')?.signature).toBe('xa{sv}');
    expect(shape.methods.get('SetVolume')?.input.signature).toBe('d');
    expect(shape.skipped).toEqual([]);
  });

  it('takes the annotations, and reports one that names no field', () => {
    const shape = exportShapeOf(Player.jsonSchema(), {
      'signals.Seeked.position': 'u',
      'signals.Mixed.tags.items': 'o',
      'signals.Mixed.meta.rating': 'y',
      'methods.SetVolume.input.level': 'q',
      'signals.Nope.x': 'u',
    });
    expect(shape.signals.get('Seeked')?.signature).toBe('ua{sv}');
    expect(shape.signals.get('Mixed')?.signature).toBe('bssdiao(sd)a{sv}a{si}vv');
    expect(shape.methods.get('SetVolume')?.input.signature).toBe('q');
    expect(shape.skipped.map((s) => s.member)).toContain('signals.Nope.x');
    expect(() => exportShapeOf(Player.jsonSchema(), { 'signals.Seeked.position': 'h' })).not.toThrow();
    expect(exportShapeOf(Player.jsonSchema(), { 'signals.Seeked.position': 'h' }).skipped[0]?.member).toBe(
      'Seeked',
    );
  });

  it('converts a payload to a body and back', () => {
    const shape = exportShapeOf(Player.jsonSchema(), { 'signals.Mixed.meta.rating': 'y' });
    const list = shape.signals.get('Mixed')!;
    const payload = {
      flag: true,
      name: 'n',
      kind: 'a',
      ratio: 0.5,
      small: 7,
      tags: ['x'],
      pair: ['s', 2],
      meta: { rating: 4 },
      counts: { a: 1 },
      maybe: null,
      anything: 'text',
    };
    const body = toBody(list, payload);
    expect((body[7] as Record<string, Variant>)['rating']).toEqual(new Variant('y', 4));
    expect(body[9]).toEqual(new Variant('av', []));
    expect(fromBody(list, body)).toEqual(payload);
    const seeked = shape.signals.get('Seeked')!;
    expect(toBody(seeked, { position: 5 })).toEqual([5n, {}]);
    expect(fromBody(seeked, toBody(seeked, { position: 5, label: 'l' }))).toEqual({
      position: 5,
      label: 'l',
    });
    expect(() => toBody(list, { ...payload, small: 1.5 })).toThrow(/cannot be sent as D-Bus type 'i'/);
  });

  it('writes introspection XML the import side reads back, marked as exported', () => {
    const shape = exportShapeOf(Player.jsonSchema());
    const node = parseIntrospection(introspectionXml([{ name: 'org.example.Player', shape }], ['child']));
    const iface = node.interfaces.find((i) => i.name === 'org.example.Player')!;
    expect(iface.exported).toBe(true);
    expect(iface.methods[0]?.args.map((a) => `${a.direction} ${a.type}`)).toEqual(['in d', 'out d']);
    expect(iface.signals.find((s) => s.name === 'Seeked')?.args.map((a) => a.type)).toEqual(['x', 'a{sv}']);
    expect(node.children).toEqual(['child']);
  });
});
