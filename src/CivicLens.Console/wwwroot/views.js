// Other cameras' redacted views of the same moment at the same site ("three angles"); each image is served and audited per view.
import { el, formatTime } from './app.js';

/** One figure per view, labelled with its camera's name and time; null when there are none. */
export function renderViews(views, id) {
  if (!views || !views.length) return null;
  return el('div', { class: 'others views', id }, views.map((v) => el('figure', { dataset: { view: String(v.id) } },
    el('img', { src: v.url, alt: `Redacted view from ${v.cameraName || v.camera}`, loading: 'lazy' }),
    el('figcaption', {}, `${v.cameraName || v.camera} · ${formatTime(v.at)}`))));
}
