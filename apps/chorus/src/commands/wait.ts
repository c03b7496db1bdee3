import { parseMilliseconds } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode } from '../errors.js';

/** `chorus wait NAME [--timeout MS]`. */
export const wait: Command = {
  name: 'wait',
  args: [{ name: 'NAME' }],
  summary: 'Wait until NAME has an owner, print the owner',
  description: `Waits until the well-known name NAME has a primary owner (at once if it has one), prints
the owner's unique name and exits 0. Race-free: an owner that appears while chorus starts
waiting is not missed. --json prints {name, owner}.

Exit status 1 (TIMEOUT) when --timeout passes first. Handy in scripts:
  chorus wait org.example.Battery --timeout 5000 && chorus call org.example.Battery GetLevel`,
  options: { timeout: { type: 'string' } },
  optionHelp: [['--timeout MS', 'Give up after MS milliseconds (exit status 1); 0 = never (default)']],
  async run(context, line) {
    const name = line.positionals[0] ?? '';
    const timeoutMs = parseMilliseconds(line.values['timeout'], 'timeout') ?? 0;
    const bus = await context.connect();
    const owner = await bus.waitForName(name, { timeoutMs });
    if (context.json) context.printJson({ name, owner });
    else context.print(owner);
    return ExitCode.OK;
  },
};
