/*
 * UTF-8 by hand, for the hand-written encoders (frame-encoder.ts, msgpack-encoder.ts): TextEncoder
 * is not in the ES lib this package compiles against, and the strings on the hot path are short.
 */

/** Bytes of `value` in UTF-8; a lone surrogate counts 3 (written as U+FFFD or as itself). */
export function utf8Length(value: string): number {
  let length = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (isHighSurrogate(unit) && isLowSurrogate(value.charCodeAt(i + 1))) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

/**
 * Writes `value` as UTF-8 at `pos`; returns the position after it. A lone surrogate becomes
 * U+FFFD, as TextEncoder writes it, or, with `keepLoneSurrogates`, the 3 bytes of its own code
 * unit, as @msgpack/msgpack writes strings up to 50 units.
 */
export function writeUtf8(
  target: Uint8Array,
  pos: number,
  value: string,
  keepLoneSurrogates: boolean,
): number {
  let at = pos;
  for (let i = 0; i < value.length; i++) {
    let point = value.charCodeAt(i);
    if (point < 0x80) {
      target[at++] = point;
    } else if (point < 0x800) {
      target[at++] = 0xc0 | (point >> 6);
      target[at++] = 0x80 | (point & 0x3f);
    } else if (isHighSurrogate(point) && isLowSurrogate(value.charCodeAt(i + 1))) {
      point = 0x10000 + ((point - 0xd800) << 10) + (value.charCodeAt(++i) - 0xdc00);
      target[at++] = 0xf0 | (point >> 18);
      target[at++] = 0x80 | ((point >> 12) & 0x3f);
      target[at++] = 0x80 | ((point >> 6) & 0x3f);
      target[at++] = 0x80 | (point & 0x3f);
    } else {
      if (!keepLoneSurrogates && isSurrogate(point)) point = 0xfffd;
      target[at++] = 0xe0 | (point >> 12);
      target[at++] = 0x80 | ((point >> 6) & 0x3f);
      target[at++] = 0x80 | (point & 0x3f);
    }
  }
  return at;
}

export function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

export function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

export function isSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdfff;
}
