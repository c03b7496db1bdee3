import { NotPermittedError } from './errors.js';
import type { Connection, Group } from './records.js';

/** Refuses an emit by a connection the group's `emitters` option does not allow. */
export function checkEmitter<TPayload>(sender: Connection<TPayload>, group: Group<TPayload>): void {
  // [GUARANTEE: access] the group's emitters option: by default only its owner may emit.
  const { emitters } = group.options;
  if (emitters === 'anyone' || sender === group.owner) return;
  if (emitters === 'members' && group.members.has(sender.id)) return;
  throw new NotPermittedError(
    group.name,
    emitters === 'owner'
      ? `only the owner may emit on '${group.name}'`
      : `only the owner and members may emit on '${group.name}'`,
  );
}
