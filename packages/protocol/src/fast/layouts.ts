/*
 * The byte layouts of the three headers on the hot path, declared once (after mqtt-packet's
 * constants.js, shared by its parser and its writer): the hand-written encoders (frame-encoder.ts)
 * write them, and the hand-written readers (header-reader.ts) recognize exactly them. Each is the
 * header the reference encoder (reference/frame-encoder.ts: encodeFrame, through @msgpack/msgpack)
 * writes for the same message: the same key order, the smallest integer and string formats.
 *
 *   sig:  SIG_MAP | SIG_T_AND_SEQ uint | KEY_GSEQ uint | KEY_G str | KEY_SIG str | KEY_FROM str
 *   sig, replayed (r: true):
 *         SIG_MAP_RETAINED | ... the same ... | KEY_R_TRUE
 *   emit: EMIT_MAP | EMIT_T_AND_S uint | KEY_G str | KEY_SIG str
 *   emit, a publish (q: true):
 *         EMIT_MAP_QUIET | ... the same ... | KEY_Q_TRUE
 *   ok to an emit:
 *         EMIT_REPLY_MAP | EMIT_REPLY_T_AND_S uint | EMIT_REPLY_R_AND_SEQ uint | KEY_GSEQ uint | KEY_N uint
 *
 * `uint` and `str` are values in a MessagePack format the encoder picks by size; which of them a
 * reader accepts is written in header-reader.ts. The byte runs below are the fixed bytes between
 * two values: keys as fixstr, the fixed `t` value, and the nested map marker of the reply's `r`.
 */

/** fixmap(6): `{ t, seq, gseq, g, sig, from }`. */
export const SIG_MAP = 0x86;
/** fixmap(7): the same plus `r: true`. */
export const SIG_MAP_RETAINED = 0x87;
/** fixmap(4): `{ t, s, g, sig }`. */
export const EMIT_MAP = 0x84;
/** fixmap(5): a publish, `{ t, s, g, sig, q: true }`. */
export const EMIT_MAP_QUIET = 0x85;
/** fixmap(3): `{ t, s, r: { seq, gseq, n } }`. */
export const EMIT_REPLY_MAP = 0x83;

const FIXMAP_3 = 0x83;
const TRUE = 0xc3;

/** 't' "sig" 'seq' */
export const SIG_T_AND_SEQ: readonly number[] = fixstrs('t', 'sig', 'seq');
/** 'gseq' (in `sig` and in the emit reply's `r`) */
export const KEY_GSEQ: readonly number[] = fixstrs('gseq');
/** 'g' (in `sig` and `emit`) */
export const KEY_G: readonly number[] = fixstrs('g');
/** 'sig' (in `sig` and `emit`) */
export const KEY_SIG: readonly number[] = fixstrs('sig');
/** 'from' */
export const KEY_FROM: readonly number[] = fixstrs('from');
/** 'r' true */
export const KEY_R_TRUE: readonly number[] = [...fixstrs('r'), TRUE];
/** 'q' true (a publish) */
export const KEY_Q_TRUE: readonly number[] = [...fixstrs('q'), TRUE];
/** 't' "emit" 's' */
export const EMIT_T_AND_S: readonly number[] = fixstrs('t', 'emit', 's');
/** 't' "ok" 's' */
export const EMIT_REPLY_T_AND_S: readonly number[] = fixstrs('t', 'ok', 's');
/** 'r' fixmap(3) 'seq' */
export const EMIT_REPLY_R_AND_SEQ: readonly number[] = [...fixstrs('r'), FIXMAP_3, ...fixstrs('seq')];
/** 'n' */
export const KEY_N: readonly number[] = fixstrs('n');

/** The MessagePack fixstr of each ASCII text (under 32 bytes), one after the other. */
function fixstrs(...texts: string[]): number[] {
  const bytes: number[] = [];
  for (const text of texts) {
    bytes.push(0xa0 | text.length);
    for (let i = 0; i < text.length; i++) bytes.push(text.charCodeAt(i));
  }
  return bytes;
}
