// The public surface: other packages code against these names, and the package must stay
// loadable in a browser (no Node built-ins, no Buffer) in everything but tests.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('public API', () => {
  it('exports exactly these values', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'BUS_NAME',
        'BYTES_KEYWORD',
        'DEFAULT_MAX_FRAME_BYTES',
        'ErrorCode',
        'FRAME_PREFIX_BYTES',
        'FrameDecoder',
        'MAX_NESTING_DEPTH',
        'MAX_SERIAL',
        'PROTOCOL_VERSION',
        'ProtocolError',
        'READ_BUFFER_BYTES',
        'UNDEFINED_KEYWORD',
        'UNREPRESENTABLE_KEYWORD',
        'busMethods',
        'busSignals',
        'contractJsonSchema',
        'decodePayload',
        'encodeEmitFrame',
        'encodeEmitReplyFrame',
        'encodeEmitValueFrame',
        'encodeFrame',
        'encodePayload',
        'encodeSignalFrame',
        'encodeSignalFrameInto',
        'isProtocolError',
        'isTransient',
        'kept',
        'parseClientHeader',
        'parseServerHeader',
        'readEmitReplyHeader',
        'sharedReadBuffer',
        'signalFrameLength',
      ].sort(),
    );
  });

  it('has the agreed constants', () => {
    expect(api.PROTOCOL_VERSION).toBe(1);
    expect(api.DEFAULT_MAX_FRAME_BYTES).toBe(1_048_576);
    expect(api.FRAME_PREFIX_BYTES).toBe(8);
    expect(api.MAX_SERIAL).toBe(2 ** 32 - 1);
  });
});

describe('browser safety', () => {
  // Reason: the client SDK bundles this package for browsers; one `node:` import breaks that.
  const sourceDir = new URL('.', import.meta.url);
  // Every folder: the fast paths and the reference codec live in fast/ and reference/.
  const sources = readdirSync(sourceDir, { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.ts') && !file.endsWith('.test.ts'),
  );

  it('finds the sources', () => {
    expect(sources).toContain('index.ts');
    expect(sources).toContain('fast/header-reader.ts');
    expect(sources).toContain('reference/header-parser.ts');
  });

  for (const file of sources) {
    it(`${file} uses no Node built-ins`, () => {
      // Comments may mention these words; only code counts.
      const code = readFileSync(new URL(file, sourceDir), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      expect(code).not.toMatch(/from\s+'node:|require\(|\bBuffer\b|\bprocess\b/);
      for (const [, specifier] of code.matchAll(/from\s+'([^']+)'/g)) {
        // A relative import must stay inside src/ (a sibling package is not bundled this way); zod
        // runs in browsers too: the bus contract and contract schemas are zod schemas; so does ajv
        // (the contract validator, a subpath of its own, which the SDK's browser entry does not load).
        const inside =
          specifier!.startsWith('.') &&
          new URL(specifier!, new URL(file, sourceDir)).href.startsWith(sourceDir.href);
        const browserSafe = ['@msgpack/msgpack', 'zod', 'ajv/dist/2020.js'];
        expect(browserSafe.includes(specifier!) || inside, specifier).toBe(true);
      }
    });
  }
});
