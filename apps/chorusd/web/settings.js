// The web monitor's knobs, with their units.
export const settings = {
  /** Recent signals kept for the stream and its filters (count). */
  maxSignals: 10_000,
  /** Rows drawn in the stream, newest first (count). */
  maxRows: 60,
  /** The stream is redrawn at most this often, inside an animation frame (ms)... */
  streamRenderMs: 100,
  /** ...and at most this often while more than `busyRate` signals arrive per second (ms). */
  busyStreamRenderMs: 300,
  busyRate: 2000,
  /** Seconds the chart spans. */
  chartSeconds: 60,
  /** Groups drawn as lines in the chart, the busiest first (count). */
  maxChartGroups: 8,
  /** The groups table is refreshed this often, and on NameOwnerChanged (ms). */
  groupsRefreshMs: 2000,
  /** Longest payload text drawn in a row (characters); the detail pane shows it all. */
  maxPayloadChars: 300,
};
