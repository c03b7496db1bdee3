// The page's elements (index.html), and the small writes every part makes to them.

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

export const ui = {
  status: $('status'),
  counters: $('counters'),
  banner: $('banner'),
  bannerText: $('banner-text'),
  reconnect: $('reconnect'),
  groupsInfo: $('groups-info'),
  groupsBody: /** @type {HTMLTableSectionElement} */ ($('groups').querySelector('tbody')),
  chart: /** @type {HTMLCanvasElement} */ ($('chart')),
  legend: $('legend'),
  filterGroup: /** @type {HTMLInputElement} */ ($('filter-group')),
  filterSignal: /** @type {HTMLInputElement} */ ($('filter-signal')),
  filterSender: /** @type {HTMLInputElement} */ ($('filter-sender')),
  pause: $('pause'),
  streamInfo: $('stream-info'),
  streamBody: /** @type {HTMLTableSectionElement} */ ($('stream').querySelector('tbody')),
  detailTitle: $('detail-title'),
  detailText: $('detail-text'),
};

/** Writes only a change: an unchanged text costs no layout. */
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

export function setStatus(state, text) {
  ui.status.dataset.state = state;
  ui.status.textContent = text;
}

export function showBanner(text) {
  ui.banner.hidden = text === undefined;
  ui.bannerText.textContent = text ?? '';
}

export function showDetail(title, text) {
  ui.detailTitle.textContent = title;
  ui.detailText.textContent = text;
}
