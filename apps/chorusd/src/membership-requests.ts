import { type Filter, InvalidNameError } from '@chorus/core';
import type { JoinResult, Welcome, Filter as WireFilter } from '@chorus/protocol';

/** A membership's filters as the wire has them, as the engine takes them. */
export function toFilters(filters: readonly WireFilter[] | undefined): Filter[] {
  if (filters === undefined) return [];
  return filters.map((f) => {
    const filter: { signal?: string; sender?: number; fields?: Filter['fields'] } = {};
    if (f.sig !== undefined) filter.signal = f.sig;
    if (f.from !== undefined) filter.sender = parseUniqueName(f.from);
    if (f.eq !== undefined) filter.fields = f.eq;
    return filter;
  });
}

function parseUniqueName(name: string): number {
  const match = /^:1\.([1-9][0-9]{0,15})$/.exec(name);
  if (match === null) throw new InvalidNameError('unique', name, "expected ':1.N'");
  return Number(match[1]);
}

/**
 * A `welcome.joined` entry; a federated group's says where the membership starts in the stream
 * (`fseq`), which a reconnecting SDK sends back to be replayed what it missed.
 */
export function joinResult(
  joined: { readonly group: string; readonly startSeq: number; readonly startGroupSeq: number },
  federation: { point(group: string): number | undefined } | undefined,
): JoinResult {
  const result: JoinResult = {
    g: joined.group,
    startSeq: joined.startSeq,
    startGroupSeq: joined.startGroupSeq,
  };
  const fseq = federation?.point(joined.group);
  if (fseq !== undefined) result.fseq = fseq;
  return result;
}

/**
 * The welcome's memberships (`hello.join`) and, on a federated daemon, the connection's `origin`:
 * what a later connection of the same client names in `join.own` (see Federation.origin).
 */
export function welcomeMemberships(
  joined: readonly { readonly group: string; readonly startSeq: number; readonly startGroupSeq: number }[],
  federation: { point(group: string): number | undefined; origin(connection: number): string } | undefined,
  connection: number,
): Pick<Welcome, 'joined' | 'origin'> {
  return {
    joined: joined.map((j) => joinResult(j, federation)),
    ...(federation === undefined ? {} : { origin: federation.origin(connection) }),
  };
}
