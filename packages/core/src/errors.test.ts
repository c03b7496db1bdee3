// One test per error code, each with the smallest fixture that triggers it through the engine.
// Errors are matched on `code` (and on the class), never on message text.
import { describe, expect, it } from 'vitest';
import { expectCode, RecordingHooks } from './engine.fixture.js';
import { Engine } from './engine.js';
import {
  AlreadyMemberError,
  EngineError,
  EngineErrorCode,
  GroupExistsError,
  InvalidNameError,
  isEngineError,
  LimitExceededError,
  NotMemberError,
  NotOwnerError,
  NotPermittedError,
  QueueFullError,
  SenderBlockedError,
  UnknownConnectionError,
  UnknownGroupError,
} from './errors.js';
import { defaultLimits, type EngineLimits } from './options.js';

const G = 'org.example.Battery';

function setup(limits: Partial<EngineLimits> = {}) {
  const hooks = new RecordingHooks();
  const engine = new Engine<string>({ limits, hooks });
  const owner = engine.connect().id;
  const member = engine.connect().id;
  engine.createGroup(owner, G);
  engine.join(member, G);
  return { engine, hooks, owner, member };
}

describe('error classes', () => {
  const instances: [EngineErrorCode, EngineError, new (...args: never[]) => EngineError][] = [
    ['UNKNOWN_GROUP', new UnknownGroupError(G), UnknownGroupError],
    ['UNKNOWN_CONNECTION', new UnknownConnectionError(7), UnknownConnectionError],
    ['NOT_MEMBER', new NotMemberError(G), NotMemberError],
    ['ALREADY_MEMBER', new AlreadyMemberError(G), AlreadyMemberError],
    ['GROUP_EXISTS', new GroupExistsError(G), GroupExistsError],
    ['NOT_OWNER', new NotOwnerError(G), NotOwnerError],
    ['NOT_PERMITTED', new NotPermittedError(G, 'no'), NotPermittedError],
    ['QUEUE_FULL', new QueueFullError(G, [3]), QueueFullError],
    ['INVALID_NAME', new InvalidNameError('group', 'x', 'why'), InvalidNameError],
    ['LIMIT_EXCEEDED', new LimitExceededError('maxGroups', 1), LimitExceededError],
    ['SENDER_BLOCKED', new SenderBlockedError(1), SenderBlockedError],
  ];

  it('has one class per code, covering every code', () => {
    expect(instances.map(([code]) => code).sort()).toEqual(Object.values(EngineErrorCode).sort());
  });

  it.each(instances)('%s: code, name, and instanceof its own class only', (code, error, Class) => {
    expect(error.code).toBe(code);
    expect(error.name).toBe(Class.name);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(EngineError);
    expect(error).toBeInstanceOf(Class);
    for (const [, , Other] of instances) {
      if (Other !== Class)
        expect(error instanceof Other, `${Class.name} instanceof ${Other.name}`).toBe(false);
    }
  });

  it('recognizes an EngineError from another copy of the package by its brand', () => {
    const foreign = Object.assign(new Error('x'), {
      code: 'UNKNOWN_GROUP',
      [Symbol.for('chorus.error')]: true,
    });
    expect(foreign instanceof EngineError).toBe(true);
    expect(new Error('x') instanceof EngineError).toBe(false);
    expect((null as unknown) instanceof EngineError).toBe(false);
  });

  it('isEngineError recognizes every engine error, and nothing else', () => {
    for (const [, error] of instances) expect(isEngineError(error)).toBe(true);
    expect(isEngineError(Object.assign(new Error('x'), { [Symbol.for('chorus.error')]: true }))).toBe(true);
    expect(isEngineError(new Error('x'))).toBe(false);
    expect(isEngineError({ code: 'UNKNOWN_GROUP' })).toBe(false);
    expect(isEngineError(undefined)).toBe(false);
  });

  it('keeps a cause', () => {
    const cause = new Error('root');
    expect(new EngineError('UNKNOWN_GROUP', 'x', { cause }).cause).toBe(cause);
  });
});

describe('UNKNOWN_GROUP', () => {
  it('is raised by every operation that names a group that does not exist', () => {
    const { engine, owner, member } = setup();
    const missing = 'org.example.Missing';
    for (const error of [
      expectCode(() => engine.join(member, missing), 'UNKNOWN_GROUP'),
      expectCode(() => engine.leave(member, missing), 'UNKNOWN_GROUP'),
      expectCode(() => engine.closeGroup(owner, missing), 'UNKNOWN_GROUP'),
      expectCode(() => engine.members(missing), 'UNKNOWN_GROUP'),
      expectCode(() => engine.connect({ join: [{ group: missing }] }), 'UNKNOWN_GROUP'),
      expectCode(
        () => engine.emit({ sender: owner, group: missing, signal: 'S', payload: '', size: 1 }),
        'UNKNOWN_GROUP',
      ),
    ]) {
      expect(error).toBeInstanceOf(UnknownGroupError);
      expect(error).toMatchObject({ group: missing });
    }
  });
});

describe('UNKNOWN_CONNECTION', () => {
  it('is raised by every operation on behalf of a connection that does not exist', () => {
    const { engine, owner } = setup();
    const gone = engine.connect().id;
    engine.disconnect(gone);
    for (const error of [
      expectCode(() => engine.createGroup(gone, 'org.example.Other'), 'UNKNOWN_CONNECTION'),
      expectCode(() => engine.join(gone, G), 'UNKNOWN_CONNECTION'),
      expectCode(() => engine.leave(gone, G), 'UNKNOWN_CONNECTION'),
      expectCode(() => engine.closeGroup(gone, G), 'UNKNOWN_CONNECTION'),
      expectCode(() => engine.post(gone, 'reply', 1), 'UNKNOWN_CONNECTION'),
      expectCode(
        () => engine.emit({ sender: gone, group: G, signal: 'S', payload: '', size: 1 }),
        'UNKNOWN_CONNECTION',
      ),
    ]) {
      expect(error).toMatchObject({ connection: gone });
    }
    // Idempotent and query operations do not throw.
    expect(() => engine.disconnect(gone)).not.toThrow();
    expect(engine.take(gone)).toEqual([]);
    expect(engine.connection(gone)).toBeUndefined();
    expect(engine.has(owner)).toBe(true);
  });
});

describe('NOT_MEMBER', () => {
  it('is raised when leaving a group one is not a member of, owner included', () => {
    const { engine, owner } = setup();
    expectCode(() => engine.leave(owner, G), 'NOT_MEMBER');
  });
});

describe('ALREADY_MEMBER', () => {
  it('is raised on a second join, and on the same group twice in an autojoin', () => {
    const { engine, member } = setup();
    expectCode(() => engine.join(member, G, [{ signal: 'Other' }]), 'ALREADY_MEMBER');
    expectCode(() => engine.connect({ join: [{ group: G }, { group: G }] }), 'ALREADY_MEMBER');
    expect(engine.members(G)).toEqual([member]);
  });
});

describe('GROUP_EXISTS', () => {
  it('is raised when the name is taken, by anyone', () => {
    const { engine, owner, member } = setup();
    expectCode(() => engine.createGroup(owner, G), 'GROUP_EXISTS');
    expectCode(() => engine.createGroup(member, G), 'GROUP_EXISTS');
    expect(engine.group(G)?.owner).toBe(owner);
  });
});

describe('NOT_OWNER', () => {
  it('is raised when a member closes a group it does not own', () => {
    const { engine, member } = setup();
    expectCode(() => engine.closeGroup(member, G), 'NOT_OWNER');
    expect(engine.group(G)).toBeDefined();
  });
});

describe('NOT_PERMITTED', () => {
  it('is raised when the emitters option does not allow the sender', () => {
    const { engine, member } = setup();
    const stranger = engine.connect().id;
    expectCode(
      () => engine.emit({ sender: member, group: G, signal: 'S', payload: '', size: 1 }),
      'NOT_PERMITTED',
    );
    engine.createGroup(member, 'org.example.Chat', { emitters: 'members' });
    expectCode(
      () => engine.emit({ sender: stranger, group: 'org.example.Chat', signal: 'S', payload: '', size: 1 }),
      'NOT_PERMITTED',
    );
    expect(engine.seq).toBe(0);
  });
});

describe('QUEUE_FULL', () => {
  it('is raised under onFull "reject", naming the full recipients, and nobody gets the message', () => {
    const { engine, owner, member } = setup({ maxQueueBytes: 10 });
    const other = engine.connect().id;
    engine.createGroup(owner, 'org.example.Reject', { onFull: 'reject' });
    engine.join(member, 'org.example.Reject');
    engine.join(other, 'org.example.Reject');
    engine.post(member, 'filler', 10);
    const error = expectCode(
      () => engine.emit({ sender: owner, group: 'org.example.Reject', signal: 'S', payload: 'x', size: 1 }),
      'QUEUE_FULL',
    );
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as QueueFullError).full).toEqual([member]);
    expect(engine.queuedBytes(other)).toBe(0);
    expect(engine.seq).toBe(0);
  });
});

describe('INVALID_NAME', () => {
  it('is raised for an invalid group name, where a name is given, before UNKNOWN_GROUP', () => {
    const { engine, owner, member } = setup();
    expectCode(() => engine.createGroup(owner, 'battery'), 'INVALID_NAME');
    expectCode(() => engine.join(member, 'battery'), 'INVALID_NAME');
    expectCode(() => engine.leave(member, 'battery'), 'INVALID_NAME');
    expectCode(() => engine.closeGroup(owner, 'battery'), 'INVALID_NAME');
    expectCode(() => engine.connect({ join: [{ group: 'battery' }] }), 'INVALID_NAME');
    expectCode(
      () => engine.emit({ sender: owner, group: 'battery', signal: 'S', payload: '', size: 1 }),
      'INVALID_NAME',
    );
  });

  it('is raised for an invalid signal name, in an emit or in a filter', () => {
    const { engine, owner } = setup();
    const joiner = engine.connect().id;
    expect(
      expectCode(
        () => engine.emit({ sender: owner, group: G, signal: 'level-changed', payload: '', size: 1 }),
        'INVALID_NAME',
      ),
    ).toMatchObject({ kind: 'signal' });
    expectCode(() => engine.join(joiner, G, [{ signal: 'not a signal' }]), 'INVALID_NAME');
    expectCode(() => engine.connect({ join: [{ group: G, filters: [{ signal: '' }] }] }), 'INVALID_NAME');
    expect(engine.members(G)).not.toContain(joiner);
  });
});

describe('LIMIT_EXCEEDED', () => {
  // Every limit that is enforced by refusing the request. The other three limits are enforced
  // differently, by design: maxRetainedBytesPerGroup drops old values, maxQueueBytes applies
  // the group's onFull policy, stallTimeoutMs evicts (see engine.test.ts and engine-flow-control.test.ts).
  const cases: [keyof EngineLimits, (engine: Engine<string>) => void][] = [
    [
      'maxConnections',
      (engine) => {
        engine.connect();
        engine.connect();
      },
    ],
    [
      'maxGroups',
      (engine) => {
        engine.createGroup(engine.connect().id, 'org.example.A');
        engine.createGroup(engine.connect().id, 'org.example.B');
      },
    ],
    [
      'maxGroupsPerConnection',
      (engine) => {
        const id = engine.connect().id;
        engine.createGroup(id, 'org.example.A');
        engine.createGroup(id, 'org.example.B');
      },
    ],
    [
      'maxMembershipsPerConnection',
      (engine) => {
        const owner = engine.connect().id;
        engine.createGroup(owner, 'org.example.A');
        engine.createGroup(owner, 'org.example.B');
        const id = engine.connect().id;
        engine.join(id, 'org.example.A');
        engine.join(id, 'org.example.B');
      },
    ],
    [
      'maxFiltersPerMembership',
      (engine) => {
        const owner = engine.connect().id;
        engine.createGroup(owner, 'org.example.A');
        engine.join(engine.connect().id, 'org.example.A', [{ signal: 'X' }, { signal: 'Y' }]);
      },
    ],
    [
      'maxFieldsPerFilter',
      (engine) => {
        const owner = engine.connect().id;
        engine.createGroup(owner, 'org.example.A');
        engine.join(engine.connect().id, 'org.example.A', [{ fields: { a: 1, b: 2 } }]);
      },
    ],
  ];

  it.each(cases)('%s', (limit, overflow) => {
    const max = 1;
    const engine = new Engine<string>({ limits: { [limit]: max } });
    const error = expectCode(() => overflow(engine), 'LIMIT_EXCEEDED');
    expect(error).toMatchObject({ limit, max });
  });

  it('checks autojoin against maxMembershipsPerConnection and the filter limits before connecting', () => {
    const engine = new Engine<string>({
      limits: { maxMembershipsPerConnection: 1, maxFiltersPerMembership: 1, maxFieldsPerFilter: 1 },
    });
    const owner = engine.connect().id;
    engine.createGroup(owner, 'org.example.A');
    engine.createGroup(engine.connect().id, 'org.example.B');
    const before = engine.stats().connections;
    expect(
      expectCode(
        () => engine.connect({ join: [{ group: 'org.example.A' }, { group: 'org.example.B' }] }),
        'LIMIT_EXCEEDED',
      ),
    ).toMatchObject({ limit: 'maxMembershipsPerConnection' });
    expect(
      expectCode(
        () => engine.connect({ join: [{ group: 'org.example.A', filters: [{}, {}] }] }),
        'LIMIT_EXCEEDED',
      ),
    ).toMatchObject({ limit: 'maxFiltersPerMembership' });
    expect(
      expectCode(
        () => engine.connect({ join: [{ group: 'org.example.A', filters: [{ fields: { a: 1, b: 1 } }] }] }),
        'LIMIT_EXCEEDED',
      ),
    ).toMatchObject({ limit: 'maxFieldsPerFilter' });
    expect(engine.stats().connections).toBe(before);
    expect(engine.members('org.example.A')).toEqual([]);
  });

  it('has a finite default for every limit', () => {
    for (const value of Object.values(defaultLimits)) expect(value).toBeGreaterThan(0);
  });
});

describe('SENDER_BLOCKED', () => {
  it('is raised when a sender with a blocked emit emits again', () => {
    const { engine, owner, member } = setup({ maxQueueBytes: 10 });
    engine.post(member, 'filler', 10);
    expect(engine.emit({ sender: owner, group: G, signal: 'S', payload: 'a', size: 1 })).toEqual({
      status: 'blocked',
    });
    expectCode(
      () => engine.emit({ sender: owner, group: G, signal: 'S', payload: 'b', size: 1 }),
      'SENDER_BLOCKED',
    );
    expect(engine.connection(owner)?.blocked).toBe(true);
  });
});
