#!/usr/bin/env node
// A battery service: owns org.example.Battery and emits LevelChanged every second, with a level
// that drifts down, then charges back up. The group retains its last value, so an app that starts
// later sees the current level at once; it also answers GetLevel, as the owner of the name.
//
//   npm start                  # the daemon, in one terminal
//   npm run example:battery    # this, in another (CHORUS_BUS_ADDRESS picks another bus)
import { connect, ErrorCode, isChorusError } from '@chorus/client';
import { Battery } from './battery.mjs';

const bus = await connect().catch((error) => {
  console.error(`cannot connect to the bus (is chorusd running? try npm start): ${error.message}`);
  process.exit(1);
});
let percent = 80;
let charging = false;

// Serving does not take the name: calls go to the name's primary owner, so ask for it too.
bus.serve(Battery, { GetLevel: () => ({ percent }) });
if ((await bus.requestName(Battery.name, { doNotQueue: true })) === 'exists') {
  console.error(`${Battery.name} already has an owner: is another battery service running?`);
  await bus.close();
  process.exit(1);
}
let group;
try {
  group = await bus.createGroup(Battery, { emitters: 'owner', retain: true });
} catch (error) {
  if (!isChorusError(error, ErrorCode.GROUP_EXISTS)) throw error;
  console.error(`${Battery.name} already has an owner: is another battery service running?`);
  await bus.close();
  process.exit(1);
}
console.log(`${Battery.name} created by ${bus.name}`);

async function tick() {
  // A random walk: down while discharging, up while charging, turning at the ends.
  const step = Math.floor(Math.random() * 3) + (charging ? 2 : 0);
  percent = Math.min(100, Math.max(0, percent + (charging ? step : -step)));
  if (percent <= 5) charging = true;
  if (percent >= 100) charging = false;
  const { seq } = await group.emit('LevelChanged', { percent });
  console.log(`LevelChanged ${percent}% (seq ${seq})`);
}

const timer = setInterval(() => {
  tick().catch((error) => {
    console.error(`emit failed: ${error.message}`);
  });
}, 1000);
await tick();

async function stop() {
  clearInterval(timer);
  await bus.close();
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
bus.closed.then((error) => {
  if (error === undefined) return;
  console.error(`lost the bus: ${error.message}`);
  process.exit(1);
});
