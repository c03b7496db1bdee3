#!/usr/bin/env node
// Renders the org.chorus.Bus section of the wire spec (README.md, between the bus-contract
// markers) from the one definition of that contract, so the spec cannot drift from it.
//   node packages/protocol/scripts/bus-spec.mjs          rewrites the section
//   node packages/protocol/scripts/bus-spec.mjs --check  exits 1 when the section differs
// The definition is packages/protocol/src/bus-contract.ts (built), read through the JSON Schema
// the daemon publishes for it (GetGroupSchema('org.chorus.Bus')).

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BEGIN = '<!-- bus-contract:begin -->';
const END = '<!-- bus-contract:end -->';
const readme = join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md');

/** The JSON Schema of org.chorus.Bus, from its one definition (what the daemon publishes). */
async function loadSchema() {
  const { busMethods, busSignals, contractJsonSchema } = await import('@chorus/protocol');
  return contractJsonSchema(busSignals, busMethods).schema;
}

/** A JSON Schema as a compact type: `{ name: string, flags?: { … } }`, `'a' | 'b'`, `T[]`. */
function typeOf(schema) {
  if (schema === undefined || Object.keys(schema).length === 0) return 'any';
  if (schema.enum !== undefined)
    return schema.enum.map((v) => JSON.stringify(v).replaceAll('"', "'")).join(' \\| ');
  if (schema.anyOf !== undefined) return schema.anyOf.map(typeOf).join(' \\| ');
  if (Array.isArray(schema.type)) return schema.type.map((type) => typeOf({ ...schema, type })).join(' \\| ');
  switch (schema.type) {
    case 'object': {
      const required = new Set(schema.required ?? []);
      const fields = Object.entries(schema.properties ?? {}).map(
        ([key, value]) => `${key}${required.has(key) ? '' : '?'}: ${typeOf(value)}`,
      );
      if (schema.propertyNames !== undefined && schema.additionalProperties !== undefined) {
        fields.push(`[${typeOf(schema.propertyNames)}]: ${typeOf(schema.additionalProperties)}`);
      } else if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) {
        fields.push('…');
      }
      return fields.length === 0 ? '{}' : `{ ${fields.join(', ')} }`;
    }
    case 'array':
      return `${typeOf(schema.items)}[]`;
    case 'number':
      return 'number';
    case 'integer':
      return 'integer';
    default:
      return schema.type;
  }
}

export function render(schema) {
  const methods = schema.properties.methods.properties;
  const signals = schema.properties.signals.properties;
  const lines = [
    '',
    '| method | input | output |',
    '| --- | --- | --- |',
    ...Object.entries(methods).map(
      ([name, m]) =>
        `| \`${name}\` | \`${typeOf(m.properties.input)}\` | \`${typeOf(m.properties.output)}\` |`,
    ),
    '',
    '| signal | payload |',
    '| --- | --- |',
    ...Object.entries(signals).map(([name, s]) => `| \`${name}\` | \`${typeOf(s)}\` |`),
    '',
    '(`…`: the map may hold more keys; `[string]: T`: any key, each value a T.)',
    '',
  ];
  return lines.join('\n');
}

function replaceSection(text, section) {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${BEGIN} … ${END} markers`);
  return `${text.slice(0, start + BEGIN.length)}\n${section}${text.slice(end)}`;
}

const current = readFileSync(readme, 'utf8');
const wanted = replaceSection(current, render(await loadSchema()));
if (process.argv.includes('--check')) {
  if (wanted !== current) {
    console.error(
      'packages/protocol/README.md: the org.chorus.Bus section differs from the contract; run node packages/protocol/scripts/bus-spec.mjs',
    );
    process.exit(1);
  }
} else {
  writeFileSync(readme, wanted);
}
