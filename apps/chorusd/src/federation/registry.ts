import type { GroupOptions } from '@chorus/protocol';

/** Who created a federated group: a connection of one run of one daemon. */
export interface GroupOwner {
  readonly daemon: string;
  readonly boot: string;
  readonly conn: number;
}

/** A group's life on the stream (subject `STREAM.c.GROUP`), as JSON. */
export type ControlEvent =
  | {
      readonly op: 'create';
      readonly o: Omit<GroupOptions, 'federated'>;
      readonly schema?: unknown;
      readonly owner: GroupOwner;
    }
  | { readonly op: 'close'; readonly owner: GroupOwner };

export interface FederatedGroup {
  readonly name: string;
  readonly options: Omit<GroupOptions, 'federated'>;
  owner: GroupOwner;
  /** The stream sequence of the create that made it (or of the last adoption). */
  since: number;
  /** A local group of the same name existed here first: this daemon cannot carry it (logged). */
  readonly shadowed: boolean;
}

export function encodeControl(event: ControlEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(event));
}

export function decodeControl(data: Uint8Array): ControlEvent | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(data)) as ControlEvent;
    if (value.op !== 'create' && value.op !== 'close') return undefined;
    if (typeof value.owner?.daemon !== 'string' || typeof value.owner.conn !== 'number') return undefined;
    return value;
  } catch {
    return undefined;
  }
}

/**
 * The federated groups this daemon knows, as the stream's control messages made them: the same
 * on every daemon, since every daemon applies the same messages in the same order.
 */
export class GroupRegistry {
  readonly #groups = new Map<string, FederatedGroup>();

  get(name: string): FederatedGroup | undefined {
    return this.#groups.get(name);
  }

  set(group: FederatedGroup): void {
    this.#groups.set(group.name, group);
  }

  delete(name: string): void {
    this.#groups.delete(name);
  }

  /** The groups a connection of this run of this daemon created. */
  ownedBy(daemon: string, boot: string, conn: number): FederatedGroup[] {
    const out: FederatedGroup[] = [];
    for (const group of this.#groups.values()) {
      const { owner } = group;
      if (owner.daemon === daemon && owner.boot === boot && owner.conn === conn) out.push(group);
    }
    return out;
  }

  get size(): number {
    return this.#groups.size;
  }
}

export function sameOwner(a: GroupOwner, b: GroupOwner): boolean {
  return a.daemon === b.daemon && a.boot === b.boot && a.conn === b.conn;
}
