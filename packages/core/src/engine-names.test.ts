import { describe, expect, it } from 'vitest';
import { RecordingHooks, signalsOf } from './engine.fixture.js';
import { Engine } from './engine.js';
import { BUS_NAME } from './name-registry.js';

type Payload = Record<string, unknown>;

function setup(maxQueueBytes?: number) {
  const hooks = new RecordingHooks();
  const engine = new Engine<Payload>({ hooks, limits: maxQueueBytes === undefined ? {} : { maxQueueBytes } });
  return { engine, hooks };
}

describe('name ownership signals', () => {
  it('are sequenced on org.chorus.Bus: NameOwnerChanged to members, NameAcquired/NameLost to the one concerned', () => {
    const { engine } = setup();
    const watcher = engine.connect({ join: [{ group: BUS_NAME }] }).id;
    const a = engine.connect().id;
    const b = engine.connect().id;
    expect(engine.requestName(a, 'org.a.Svc', { allowReplacement: true })).toBe('primary-owner');
    expect(engine.requestName(b, 'org.a.Svc', { replaceExisting: true })).toBe('primary-owner');
    const seen = signalsOf(engine.take(watcher));
    expect(seen.map((m) => [m.signal, m.payload, m.sender, m.groupSeq])).toEqual([
      ['NameOwnerChanged', { name: 'org.a.Svc', oldOwner: null, newOwner: ':1.2' }, 0, 1],
      ['NameOwnerChanged', { name: 'org.a.Svc', oldOwner: ':1.2', newOwner: ':1.3' }, 0, 2],
    ]);
    expect(signalsOf(engine.take(a)).map((m) => [m.signal, m.groupSeq])).toEqual([
      ['NameAcquired', 0],
      ['NameLost', 0],
    ]);
    expect(signalsOf(engine.take(b)).map((m) => m.signal)).toEqual(['NameAcquired']);
    // One total order: the watcher's and a's signals interleave by seq.
    expect(engine.seq).toBe(5);
  });

  it('hands a name to the next in queue when its owner disconnects', () => {
    const { engine } = setup();
    const a = engine.connect().id;
    const b = engine.connect().id;
    engine.requestName(a, 'org.a.Svc');
    engine.requestName(b, 'org.a.Svc');
    expect(engine.nameOwner('org.a.Svc')).toBe(a);
    engine.disconnect(a);
    expect(engine.nameOwner('org.a.Svc')).toBe(b);
    expect(signalsOf(engine.take(b)).map((m) => m.signal)).toEqual(['NameAcquired']);
    expect(engine.connection(b)?.names).toEqual(['org.a.Svc']);
    engine.disconnect(b);
    expect(engine.names()).toEqual([]);
  });

  it('resolves unique names of live connections only', () => {
    const { engine } = setup();
    const a = engine.connect().id;
    expect(engine.nameOwner(`:1.${a}`)).toBe(a);
    engine.disconnect(a);
    expect(engine.nameOwner(`:1.${a}`)).toBeUndefined();
    expect(engine.nameOwner(':1.x')).toBeUndefined();
  });

  it('keeps org.chorus.Bus unspoofable', () => {
    const { engine } = setup();
    const a = engine.connect().id;
    expect(() =>
      engine.emit({ sender: a, group: BUS_NAME, signal: 'NameOwnerChanged', payload: {}, size: 1 }),
    ).toThrow(expect.objectContaining({ code: 'NOT_PERMITTED' }));
    expect(() => engine.createGroup(a, BUS_NAME)).toThrow(expect.objectContaining({ code: 'GROUP_EXISTS' }));
    expect(() => engine.closeGroup(a, BUS_NAME)).toThrow(expect.objectContaining({ code: 'NOT_OWNER' }));
  });
});

describe('monitors', () => {
  it('get every signal, of every group or of the chosen ones, in bus order, without counting as recipients', () => {
    const { engine } = setup();
    const owner = engine.connect().id;
    engine.createGroup(owner, 'org.a.One');
    engine.createGroup(owner, 'org.a.Two');
    const all = engine.connect().id;
    const some = engine.connect().id;
    engine.becomeMonitor(all);
    engine.becomeMonitor(some, ['org.a.Two']);
    const member = engine.connect({ join: [{ group: 'org.a.One' }] }).id;
    const r1 = engine.emit({ sender: owner, group: 'org.a.One', signal: 'X', payload: {}, size: 1 });
    engine.emit({ sender: owner, group: 'org.a.Two', signal: 'Y', payload: {}, size: 1 });
    expect(r1).toMatchObject({ status: 'accepted', recipients: 1 });
    expect(signalsOf(engine.take(all)).map((m) => m.signal)).toEqual(['X', 'Y']);
    expect(signalsOf(engine.take(some)).map((m) => m.signal)).toEqual(['Y']);
    expect(signalsOf(engine.take(member)).map((m) => m.signal)).toEqual(['X']);
    expect(engine.connection(some)).toMatchObject({ monitor: true, monitoring: ['org.a.Two'] });
  });

  it('of every group see only the groups the driver allows, asked once per group until it changes its mind', () => {
    const { engine } = setup();
    const owner = engine.connect().id;
    engine.createGroup(owner, 'org.a.Open');
    engine.createGroup(owner, 'org.a.Secret');
    const watcher = engine.connect().id;
    const asked: string[] = [];
    let secretAllowed = false;
    engine.becomeMonitor(watcher, undefined, (group) => {
      asked.push(group);
      return group !== 'org.a.Secret' || secretAllowed;
    });
    const emit = (group: string, signal: string) =>
      engine.emit({ sender: owner, group, signal, payload: {}, size: 1 });
    emit('org.a.Secret', 'S1');
    emit('org.a.Open', 'O1');
    emit('org.a.Secret', 'S2');
    emit('org.a.Open', 'O2');
    expect(signalsOf(engine.take(watcher)).map((m) => m.signal)).toEqual(['O1', 'O2']);
    expect(asked).toEqual(['org.a.Secret', 'org.a.Open']); // decisions are kept: no second question
    // The driver's policy changed: everything is asked again.
    secretAllowed = true;
    engine.setMonitorAccess(watcher, (group) => {
      asked.push(group);
      return group !== 'org.a.Secret' || secretAllowed;
    });
    emit('org.a.Secret', 'S3');
    expect(signalsOf(engine.take(watcher)).map((m) => m.signal)).toEqual(['S3']);
    expect(asked).toEqual(['org.a.Secret', 'org.a.Open', 'org.a.Secret']);
    // A closed group's decision is forgotten (the table stays as small as the live groups).
    engine.closeGroup(owner, 'org.a.Secret');
    engine.createGroup(owner, 'org.a.Secret');
    emit('org.a.Secret', 'S4');
    expect(asked).toEqual(['org.a.Secret', 'org.a.Open', 'org.a.Secret', 'org.a.Secret']);
  });

  it('give up their groups and names when they start watching', () => {
    const { engine } = setup();
    const a = engine.connect().id;
    const owner = engine.connect().id;
    engine.createGroup(owner, 'org.a.One');
    engine.join(a, 'org.a.One');
    engine.createGroup(a, 'org.a.Mine');
    engine.requestName(a, 'org.a.Name');
    engine.becomeMonitor(a);
    expect(engine.connection(a)).toMatchObject({ memberships: [], owned: [], names: [] });
    expect(engine.group('org.a.Mine')).toBeUndefined();
  });

  it('are evicted when full instead of holding up a blocking group', () => {
    const { engine, hooks } = setup(100);
    const owner = engine.connect().id;
    engine.createGroup(owner, 'org.a.One', { onFull: 'block' });
    const monitor = engine.connect().id;
    engine.becomeMonitor(monitor);
    const member = engine.connect({ join: [{ group: 'org.a.One' }] }).id;
    const emit = () => engine.emit({ sender: owner, group: 'org.a.One', signal: 'X', payload: {}, size: 60 });
    expect(emit().status).toBe('accepted');
    engine.take(member);
    expect(emit().status).toBe('accepted'); // the monitor is full: evicted, the message goes on
    expect(hooks.evictedIds).toEqual([monitor]);
    expect(engine.has(monitor)).toBe(false);
  });
});
