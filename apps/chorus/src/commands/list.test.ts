import type { ConnectionInfo, GroupInfo, NameInfo } from '@chorus/client';
import { describe, expect, it } from 'vitest';
import { createStyle } from '../style.js';
import { connectionTable, groupOptionsText, groupTable, nameTable } from './list.js';

const plain = createStyle(false);

describe('tables of chorus list', () => {
  it('groups: owner, members, emitters, options, seq, whether a schema was published', () => {
    const groups: GroupInfo[] = [
      {
        name: 'org.example.Battery',
        owner: ':1.3',
        members: 12,
        options: { emitters: 'owner', retain: true, onFull: 'block' },
        schema: { type: 'object' },
        seq: 1500,
      },
      { name: 'a.B', owner: ':1.10', members: 0, options: {}, schema: null, seq: 0 },
    ];
    expect(groupTable(groups, plain)).toEqual([
      'GROUP                OWNER  MEMBERS  EMITTERS  OPTIONS                 SEQ  SCHEMA',
      'org.example.Battery  :1.3        12  owner     retain, onFull=block  1,500  yes',
      'a.B                  :1.10        0  -         -                         0  no',
    ]);
    expect(groupTable([], plain)).toEqual(['(no groups)']);
  });

  it('names: owner and queue', () => {
    const names: NameInfo[] = [
      { name: 'org.example.Battery', owner: ':1.3', queue: [':1.4', ':1.9'] },
      { name: 'a.B', owner: ':1.5', queue: [] },
    ];
    expect(nameTable(names, plain)).toEqual([
      'NAME                 OWNER  QUEUE',
      'org.example.Battery  :1.3   :1.4, :1.9',
      'a.B                  :1.5   -',
    ]);
    expect(nameTable([], plain)).toEqual(['(no well-known names)']);
  });

  it('connections: marks monitors and this connection', () => {
    const base = { transport: 'unix', groups: [], owned: [], names: [], queuedBytes: 0, monitor: false };
    const connections: ConnectionInfo[] = [
      {
        ...base,
        name: ':1.3',
        identity: 'owner',
        groups: ['a.B'],
        owned: ['a.B'],
        names: ['a.B'],
        queuedBytes: 2048,
      },
      { ...base, name: ':1.7', transport: 'ws', monitor: true, remote: '127.0.0.1:5000', client: null },
      { ...base, name: ':1.8', identity: 'owner', pid: 42, uid: 0, command: 'node app.mjs', client: 'panel' },
    ];
    expect(connectionTable(connections, plain, ':1.8')).toEqual([
      'CONNECTION  TRANSPORT  IDENTITY  PID  COMMAND         MEMBER OF  OWNS  NAMES   QUEUED  NOTE',
      ':1.3        unix       owner       -  -                       1  a.B   a.B    2.0 KiB',
      ':1.7        ws         -           -  127.0.0.1:5000          0  -     -          0 B  monitor',
      ':1.8        unix       owner      42  node app.mjs            0  -     -          0 B  you, says it is panel',
    ]);
  });

  it('reads group options as flags', () => {
    expect(groupOptionsText({})).toBe('-');
    expect(groupOptionsText({ retain: true, loopback: true, sendToPeer: true, onFull: 'evict' })).toBe(
      'retain, loopback, sendToPeer, onFull=evict',
    );
    expect(groupOptionsText({ retain: false, loopback: false })).toBe('-');
  });
});
