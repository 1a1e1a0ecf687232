// Legal holds (investigators and admins): what is held, for which matter, until when; place, extend and release.
// The API validates and audits every change; this page only asks. Held items show a badge (heldBadge) elsewhere.
import { registerPage, api, el, clear, formatTime, toast } from './app.js';

const SCOPES = ['case', 'event', 'report', 'camera'];

/** "Held" on a case, event or report that legal holds keep; null when none does. */
export function heldBadge(holds, id) {
  if (!holds || !holds.length) return null;
  const until = holds.map((h) => h.expiresAt).sort().at(-1);
  return el('span', { class: 'badge held', id, title: holds.map((h) => `${h.caseReference} until ${formatTime(h.expiresAt)}`).join('\n') },
    `Held (${holds.map((h) => h.caseReference).join(', ')}) until ${formatTime(until)}`);
}

function problemText(err) {
  return err.problem && err.problem.errors
    ? Object.entries(err.problem.errors).map(([k, v]) => `${k} ${[].concat(v).join(', ')}`).join('; ')
    : err.message;
}

/** A date input's value (local midnight) as ISO 8601. */
function isoDate(value) {
  return value ? new Date(value).toISOString() : null;
}

registerPage({
  id: 'holds',
  title: 'Legal holds',
  nav: true,
  roles: ['investigator', 'admin'],
  async render(root, parts = []) {
    clear(root);
    const all = parts[0] === 'all';
    const holds = await api(`/api/holds${all ? '?all=true' : ''}`);
    const rerender = () => this.render(root, parts);
    const rows = holds.map((h) => {
      const actions = el('td', {});
      if (h.active) {
        const reason = el('input', { 'aria-label': `Reason for hold ${h.id}`, placeholder: 'reason', required: true });
        const until = el('input', { type: 'date', 'aria-label': `New end of hold ${h.id}` });
        const extend = el('button', { type: 'button', dataset: { extend: String(h.id) } }, 'Extend');
        const release = el('button', { type: 'button', dataset: { release: String(h.id) } }, 'Release');
        const act = async (what, body) => {
          try {
            await api(`/api/holds/${h.id}/${what}`, { method: 'POST', body });
            toast(`Hold ${h.id} ${what === 'extend' ? 'extended' : 'released'}.`);
            await rerender();
          } catch (err) {
            toast(problemText(err));
          }
        };
        extend.addEventListener('click', () => act('extend', { expiresAt: isoDate(until.value), reason: reason.value.trim() }));
        release.addEventListener('click', () => act('release', { reason: reason.value.trim() }));
        actions.append(reason, until, extend, release);
      } else {
        actions.append(h.releasedAt ? `released ${formatTime(h.releasedAt)} by ${h.releasedBy}: ${h.releaseReason}` : 'expired');
      }

      const span = h.from ? ` ${formatTime(h.from)} – ${formatTime(h.to)}` : '';
      const link = h.scope === 'case' ? el('a', { href: `#/cases/${encodeURIComponent(h.target)}` }, h.target) : h.target;
      return el('tr', { dataset: { hold: String(h.id) } }, el('td', {}, String(h.id)), el('td', {}, h.scope, ' ', link, span), el('td', {}, h.caseReference),
        el('td', {}, h.reason), el('td', {}, `${h.createdBy}, ${formatTime(h.createdAt)}`), el('td', {}, formatTime(h.expiresAt)), actions);
    });

    const scope = el('select', { id: 'hold-scope' }, SCOPES.map((s) => el('option', { value: s }, s)));
    const target = el('input', { id: 'hold-target', required: true, autocomplete: 'off' });
    const from = el('input', { id: 'hold-from', type: 'datetime-local' });
    const to = el('input', { id: 'hold-to', type: 'datetime-local' });
    const reference = el('input', { id: 'hold-reference', required: true, autocomplete: 'off' });
    const reason = el('input', { id: 'hold-reason', required: true, autocomplete: 'off' });
    const expires = el('input', { id: 'hold-expires', type: 'date', required: true });
    const spanFields = [el('label', { for: 'hold-from' }, 'From (camera)'), from, el('label', { for: 'hold-to' }, 'To (camera)'), to];
    const showSpan = () => spanFields.forEach((f) => f.toggleAttribute('hidden', scope.value !== 'camera'));
    scope.addEventListener('change', showSpan);
    showSpan();
    const form = el('form', { class: 'grid-form', id: 'new-hold-form' },
      el('label', { for: 'hold-scope' }, 'What'), scope, el('label', { for: 'hold-target' }, 'Case, event, report or camera id'), target, ...spanFields,
      el('label', { for: 'hold-reference' }, 'Case reference (court, police, insurer)'), reference, el('label', { for: 'hold-reason' }, 'Reason'), reason,
      el('label', { for: 'hold-expires' }, 'Held until'), expires, el('button', { type: 'submit' }, 'Place hold'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const camera = scope.value === 'camera';
        const h = await api('/api/holds', {
          method: 'POST',
          body: {
            scope: scope.value, target: target.value.trim(), caseReference: reference.value.trim(), reason: reason.value.trim(), expiresAt: isoDate(expires.value),
            from: camera ? isoDate(from.value) : null, to: camera ? isoDate(to.value) : null,
          },
        });
        toast(`Hold ${h.id} placed.`);
        await rerender();
      } catch (err) {
        toast(problemText(err));
      }
    });

    root.append(el('h1', {}, 'Legal holds'),
      el('p', {}, 'What a hold names is kept past its retention until the hold ends or is released; every change is audited. ',
        el('a', { href: all ? '#/holds' : '#/holds/all', id: 'holds-toggle' }, all ? 'Only holds in force' : 'Also released and expired holds')),
      el('table', { id: 'holds' },
        el('thead', {}, el('tr', {}, ['#', 'Holds', 'Reference', 'Reason', 'Placed', 'Until', ''].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, rows)),
      el('h2', {}, 'Place a hold'), form);
    document.body.dataset.ready = 'holds';
  },
});
