import { InvalidNameError, LimitExceededError } from './errors.js';
import { groupNameProblem } from './names.js';

/** The name the bus itself answers to: its built-in group and its method interface. */
export const BUS_NAME = 'org.chorus.Bus';

export interface RequestNameFlags {
  /** Let a later `replaceExisting` request take the name from us. */
  readonly allowReplacement?: boolean;
  /** Take the name from its owner if the owner allowed replacement. */
  readonly replaceExisting?: boolean;
  /** Fail with 'exists' instead of waiting in the queue. */
  readonly doNotQueue?: boolean;
}

export type RequestNameResult = 'primary-owner' | 'in-queue' | 'exists' | 'already-owner';
export type ReleaseNameResult = 'released' | 'non-existent' | 'not-owner';

/** One change of a name's primary owner; `undefined` is "nobody". */
export interface OwnerChange {
  readonly name: string;
  readonly oldOwner: number | undefined;
  readonly newOwner: number | undefined;
}

export interface NameInfo {
  readonly name: string;
  readonly owner: number;
  /** Connections waiting for the name, next owner first. */
  readonly queue: readonly number[];
}

interface Claim {
  readonly id: number;
  allowReplacement: boolean;
  doNotQueue: boolean;
}

/**
 * Well-known names as in the D-Bus specification: each has a primary owner and a queue of
 * connections waiting for it, which take over in order when the owner releases it or leaves.
 *
 *   name ──► [ owner | next | … ]      claims, index 0 is the primary owner
 *   id   ──► { names it owns or waits for }
 *
 * Both maps are updated together; an entry exists only while its claim list is non-empty.
 */
export class NameRegistry {
  readonly #claims = new Map<string, Claim[]>();
  readonly #byConnection = new Map<number, Set<string>>();
  readonly #maxNamesPerConnection: number;

  constructor(maxNamesPerConnection: number) {
    this.#maxNamesPerConnection = maxNamesPerConnection;
  }

  request(
    id: number,
    name: string,
    flags: RequestNameFlags = {},
  ): { result: RequestNameResult; changes: OwnerChange[] } {
    assertRequestableName(name);
    const claims = this.#claims.get(name);
    const allowReplacement = flags.allowReplacement ?? false;
    const doNotQueue = flags.doNotQueue ?? false;
    if (claims === undefined) {
      this.#checkLimit(id);
      this.#claims.set(name, [{ id, allowReplacement, doNotQueue }]);
      this.#track(id, name);
      return { result: 'primary-owner', changes: [{ name, oldOwner: undefined, newOwner: id }] };
    }
    const owner = claims[0] as Claim;
    if (owner.id === id) {
      owner.allowReplacement = allowReplacement;
      owner.doNotQueue = doNotQueue;
      return { result: 'already-owner', changes: [] };
    }
    const queued = claims.findIndex((c) => c.id === id);
    if (flags.replaceExisting === true && owner.allowReplacement) {
      if (queued === -1) this.#checkLimit(id);
      else claims.splice(queued, 1);
      claims.shift();
      // The old owner waits at the head of the queue, unless it asked never to queue.
      if (owner.doNotQueue) this.#untrack(owner.id, name);
      else claims.unshift(owner);
      claims.unshift({ id, allowReplacement, doNotQueue });
      this.#track(id, name);
      return { result: 'primary-owner', changes: [{ name, oldOwner: owner.id, newOwner: id }] };
    }
    if (doNotQueue) {
      if (queued !== -1) {
        claims.splice(queued, 1);
        this.#untrack(id, name);
      }
      return { result: 'exists', changes: [] };
    }
    if (queued === -1) {
      this.#checkLimit(id);
      claims.push({ id, allowReplacement, doNotQueue });
      this.#track(id, name);
    } else {
      const claim = claims[queued] as Claim;
      claim.allowReplacement = allowReplacement;
      claim.doNotQueue = doNotQueue;
    }
    return { result: 'in-queue', changes: [] };
  }

  release(id: number, name: string): { result: ReleaseNameResult; changes: OwnerChange[] } {
    assertRequestableName(name);
    const claims = this.#claims.get(name);
    if (claims === undefined) return { result: 'non-existent', changes: [] };
    const index = claims.findIndex((c) => c.id === id);
    if (index === -1) return { result: 'not-owner', changes: [] };
    return { result: 'released', changes: this.#drop(name, claims, index) };
  }

  /** Gives up every name `id` owns or waits for (it is leaving); returns the owner changes. */
  removeConnection(id: number): OwnerChange[] {
    const names = this.#byConnection.get(id);
    if (names === undefined) return [];
    const changes: OwnerChange[] = [];
    for (const name of [...names]) {
      const claims = this.#claims.get(name) as Claim[];
      changes.push(
        ...this.#drop(
          name,
          claims,
          claims.findIndex((c) => c.id === id),
        ),
      );
    }
    return changes;
  }

  owner(name: string): number | undefined {
    return this.#claims.get(name)?.[0]?.id;
  }

  /** The names `id` owns (not those it waits for). */
  ownedBy(id: number): string[] {
    return [...(this.#byConnection.get(id) ?? [])].filter((name) => this.owner(name) === id);
  }

  *list(): IterableIterator<NameInfo> {
    for (const [name, claims] of this.#claims) {
      yield { name, owner: (claims[0] as Claim).id, queue: claims.slice(1).map((c) => c.id) };
    }
  }

  get size(): number {
    return this.#claims.size;
  }

  #drop(name: string, claims: Claim[], index: number): OwnerChange[] {
    const [claim] = claims.splice(index, 1) as [Claim];
    this.#untrack(claim.id, name);
    if (index !== 0) return [];
    const next = claims[0];
    if (next === undefined) this.#claims.delete(name);
    return [{ name, oldOwner: claim.id, newOwner: next?.id }];
  }

  #checkLimit(id: number): void {
    if ((this.#byConnection.get(id)?.size ?? 0) >= this.#maxNamesPerConnection) {
      throw new LimitExceededError('maxNamesPerConnection', this.#maxNamesPerConnection);
    }
  }

  #track(id: number, name: string): void {
    let names = this.#byConnection.get(id);
    if (names === undefined) {
      names = new Set();
      this.#byConnection.set(id, names);
    }
    names.add(name);
  }

  #untrack(id: number, name: string): void {
    const names = this.#byConnection.get(id);
    if (names === undefined) return;
    names.delete(name);
    if (names.size === 0) this.#byConnection.delete(id);
  }
}

/** Well-known names follow the group-name grammar; unique names and the bus's own are not requestable. */
export function assertRequestableName(name: string): void {
  if (typeof name === 'string' && name.startsWith(':')) {
    throw new InvalidNameError('well-known', name, 'unique names (":1.N") are assigned by the bus');
  }
  if (name === BUS_NAME) throw new InvalidNameError('well-known', name, 'the bus owns this name');
  const problem = groupNameProblem(name);
  if (problem !== undefined) throw new InvalidNameError('well-known', String(name), problem);
}
