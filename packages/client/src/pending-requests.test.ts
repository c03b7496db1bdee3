import { describe, expect, it } from 'vitest';
import { PendingRequests } from './pending-requests.js';

describe('PendingRequests', () => {
  it('settles each request by its serial', async () => {
    const pending = new PendingRequests();
    const s1 = pending.nextSerial();
    const r1 = pending.register(s1);
    const s2 = pending.nextSerial();
    const r2 = pending.register(s2);
    expect([s1, s2]).toEqual([1, 2]);
    expect(pending.resolve(s2, { t: 'ok', s: s2 })).toBe(true);
    expect(pending.reject(s1, new Error('no'))).toBe(true);
    expect(pending.resolve(s1, { t: 'ok', s: s1 })).toBe(false);
    await expect(r2).resolves.toEqual({ t: 'ok', s: 2 });
    await expect(r1).rejects.toThrow('no');
  });

  it('hands the payload of an ok to a request registered with payload', async () => {
    const pending = new PendingRequests();
    const serial = pending.nextSerial();
    const reply = pending.registerWithPayload(serial);
    const plain = pending.register(pending.nextSerial());
    expect(pending.resolve(serial, { t: 'ok', s: serial }, new Uint8Array([7]))).toBe(true);
    expect(pending.resolve(serial + 1, { t: 'ok', s: serial + 1 }, new Uint8Array([8]))).toBe(true);
    await expect(reply).resolves.toEqual({ reply: { t: 'ok', s: serial }, payload: new Uint8Array([7]) });
    await expect(plain).resolves.toEqual({ t: 'ok', s: serial + 1 });
  });

  it('wraps after 2^32-1 and skips serials still in use', () => {
    const pending = new PendingRequests(0xffff_fffe);
    void pending.register(1); // still unanswered from long ago
    expect(pending.nextSerial()).toBe(0xffff_fffe);
    expect(pending.nextSerial()).toBe(0xffff_ffff);
    expect(pending.nextSerial()).toBe(2);
    expect(pending.nextSerial()).toBe(3);
  });

  it('rejects everything at once and reports idleness', async () => {
    const pending = new PendingRequests();
    const replies = [pending.register(pending.nextSerial()), pending.register(pending.nextSerial())];
    let idle = false;
    const whenIdle = pending.whenIdle().then(() => (idle = true));
    expect(idle).toBe(false);
    pending.rejectAll(new Error('gone'));
    for (const reply of replies) await expect(reply).rejects.toThrow('gone');
    await whenIdle;
    expect(pending.size).toBe(0);
  });
});
