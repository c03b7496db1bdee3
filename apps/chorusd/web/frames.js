// Animation frames: every part asks for one, and the page's one frame callback does the drawing
// (monitor.js: the chart once a second, the stream at most every streamRenderMs).

let frameRequested = false;
/** @type {(now: number) => void} */
let draw = () => undefined;

/** Sets what a frame does; called once, by the page's entry. */
export function onFrame(callback) {
  draw = callback;
}

/** Asks for a frame; asking again before it comes is free. */
export function requestFrame() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(frame);
}

function frame(now) {
  frameRequested = false;
  draw(now);
}
