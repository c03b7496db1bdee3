#!/usr/bin/env node
// A panel app: joins org.example.Battery when it connects (autojoin: nothing sent after connect()
// can be missed) and prints each level with its sequence number and sender. The first line is the
// retained value, the level before the panel started. At start it also asks the service for its
// level once (the GetLevel method). Waits for the battery service if it is not there yet, and
// again when it goes away.
//
//   npm run example:panel
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientErrorCode, connect, ErrorCode, isChorusError } from '@chorus/client';
import { Battery } from './battery.mjs';

let bus;
let stopping = false;
async function stop() {
  stopping = true;
  await bus?.close();
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

let waiting;
let asked = false;
while (!stopping) {
  try {
    bus = await connect({ join: [Battery] });
  } catch (error) {
    // No group yet (the service is not there), or no bus at all (stopped, restarting): wait for
    // it either way, saying so once; anything else (a bad address, a refused token) is final.
    const what = isChorusError(error, ErrorCode.UNKNOWN_GROUP)
      ? Battery.name
      : transient(error)
        ? 'the bus (is chorusd running? try npm start)'
        : undefined;
    if (what === undefined) {
      console.error(`cannot connect to the bus: ${error.message}`);
      process.exit(1);
    }
    if (waiting !== what) console.log(`waiting for ${what}...`);
    waiting = what;
    await sleep(1000);
    continue;
  }
  waiting = undefined;
  if (!asked) {
    asked = true;
    try {
      // A typed call to the owner of org.example.Battery; the answer is validated on arrival.
      const { percent } = await bus.call(Battery, 'GetLevel', {}, { timeoutMs: 2000, waitForService: true });
      console.log(`Level at start: ${percent}% (GetLevel)`);
    } catch (error) {
      console.error(`GetLevel failed (${error.code}): ${error.message}`);
    }
  }
  const sub = await bus.join(Battery);
  sub.on('LevelChanged', ({ percent }, meta) => {
    console.log(
      `Battery ${percent}% (seq ${meta.seq}, from ${meta.sender}${meta.retained ? ', retained' : ''})`,
    );
  });
  const [reason, error] = await new Promise((resolve) => sub.on('closed', (...end) => resolve(end)));
  console.log(`${Battery.name} ended (${error === undefined ? reason : error.message})`);
  await bus.close();
}

/** The bus is not there now but may be soon: not running, shutting down, restarting. */
function transient(error) {
  const codes = [ClientErrorCode.CONNECT_FAILED, ClientErrorCode.CONNECTION_CLOSED, ClientErrorCode.TIMEOUT];
  return [...codes, ErrorCode.BUS_CLOSING].includes(error?.code);
}
