#!/bin/sh
# Installs the peers `npm run bench -- --peers` compares Chorus with: nats-server, redis-server,
# mosquitto and dbus-broker (Debian packages). The bench starts each one itself, on loopback or a
# Unix socket in a temporary directory, and stops it afterwards; the system services the packages
# may enable are not used (they are stopped and disabled where systemd runs).
set -eu

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
  nats-server redis-server mosquitto dbus-broker

# The bench runs its own instances; don't leave the packaged daemons listening on default ports.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for unit in redis-server mosquitto nats-server; do
    $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi

for bin in nats-server redis-server mosquitto dbus-broker-launch; do
  printf '%s: %s\n' "$bin" "$(command -v "$bin" || echo missing)"
done
