// Formatting: payloads, times, rates and errors as text.

/** JSON with 2-space indentation; MessagePack's extra types shown readably. */
export function pretty(value) {
  try {
    return JSON.stringify(value, readable, 2) ?? String(value);
  } catch (error) {
    return `<cannot show: ${error}>`;
  }
}

/** The same on one line, spaced as people write it: `{ "city": "Lyon", "tags": [1, 2] }`. */
export function inline(value) {
  try {
    const text = JSON.stringify(value, readable, 1);
    if (text === undefined) return String(value);
    // Indented, then each line break and its indentation folded into one space: a JSON string
    // cannot contain a raw line break, so only the layout is touched.
    return text.replace(/\n */g, ' ');
  } catch (error) {
    return `<cannot show: ${error}>`;
  }
}

function readable(_key, v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `<${v.byteLength} bytes: ${hex(v)}>`;
  if (v instanceof Map) return Object.fromEntries(v);
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

function hex(bytes) {
  const shown = Array.from(bytes.subarray(0, 24), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.byteLength > 24 ? `${shown} …` : shown;
}

export function truncate(text, max) {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

export function formatTime(time) {
  const date = new Date(time);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

export function formatRate(value) {
  if (value >= 10_000) return `${(value / 1000).toFixed(0)}k`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`;
  return String(Math.round(value));
}

/** An error as people read it: `CODE: message (cause)`. */
export function describe(error) {
  if (error === undefined || error === null) return 'unknown error';
  const code = error.code === undefined ? '' : `${error.code}: `;
  const cause = error.cause?.message === undefined ? '' : ` (${error.cause.message})`;
  return `${code}${error.message ?? String(error)}${cause}`;
}
