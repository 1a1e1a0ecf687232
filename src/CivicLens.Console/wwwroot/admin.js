// Administration: accounts (admin) and the audit log (auditor). Each page is refused to other roles by the shell,
// and by the API whatever the shell does.
import { registerPage, api, el, clear, formatTime, toast } from './app.js';

const ROLES = ['viewer', 'operator', 'investigator', 'admin', 'auditor'];

registerPage({
  id: 'admin',
  title: 'Accounts',
  nav: true,
  roles: ['admin'],
  async render(root) {
    clear(root);
    const users = await api('/api/users');
    const table = el('table', { id: 'users' },
      el('thead', {}, el('tr', {}, ['User', 'Role', 'Areas', 'Second factor', 'State'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, users.map((u) => el('tr', {},
        el('td', {}, u.userName), el('td', {}, u.role), el('td', {}, u.areas ? u.areas.join(', ') : 'all'),
        el('td', {}, u.secondFactor ? 'enrolled' : 'not yet'), el('td', {}, u.disabled ? 'disabled' : u.locked ? 'locked' : 'active')))));
    const name = el('input', { id: 'new-user', required: true, autocomplete: 'off' });
    const pass = el('input', { id: 'new-password', type: 'password', required: true, autocomplete: 'new-password', minlength: '12' });
    const role = el('select', { id: 'new-role' }, ROLES.map((r) => el('option', { value: r }, r)));
    const areas = el('input', { id: 'new-areas', placeholder: 'all areas', autocomplete: 'off' });
    const form = el('form', { class: 'grid-form', id: 'new-user-form' },
      el('label', { for: 'new-user' }, 'User name'), name, el('label', { for: 'new-password' }, 'Password (12+ characters)'), pass,
      el('label', { for: 'new-role' }, 'Role'), role, el('label', { for: 'new-areas' }, 'Areas (comma separated)'), areas,
      el('button', { type: 'submit' }, 'Create account'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const list = areas.value.split(',').map((a) => a.trim()).filter(Boolean);
        await api('/api/users', { method: 'POST', body: { userName: name.value.trim(), password: pass.value, role: role.value, areas: list.length ? list : null } });
        pass.value = '';
        toast(`Account ${name.value.trim()} created.`);
        await this.render(root);
      } catch (err) {
        const errors = err.problem && err.problem.errors ? Object.values(err.problem.errors).flat().join(' ') : err.message;
        toast(errors);
      }
    });
    root.append(el('h1', {}, 'Accounts'), table, el('h2', {}, 'New account'), form);
    document.body.dataset.ready = 'admin';
  },
});

registerPage({
  id: 'audit',
  title: 'Audit log',
  nav: true,
  roles: ['auditor'],
  render: (root) => renderAudit(root),
});

async function renderAudit(root) {
  clear(root);
  const page = await api('/api/audit?limit=200');
  const verify = el('button', { type: 'button', id: 'verify' }, 'Verify the chain');
  const result = el('p', { id: 'verify-result', role: 'status' });
  verify.addEventListener('click', async () => {
    const r = await api('/api/audit/verify');
    result.textContent = r.intact ? `Intact: ${r.recordsVerified} records verified.` : `BROKEN at record ${r.brokenAt}: ${r.problem}`;
  });
  root.append(el('h1', {}, 'Audit log'), verify, result, el('table', { id: 'audit' },
    el('thead', {}, el('tr', {}, ['#', 'When', 'Actor', 'Action', 'Target', 'Outcome', 'Detail'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, page.items.map((a) => el('tr', {}, el('td', {}, String(a.seq)), el('td', {}, formatTime(a.at)), el('td', {}, a.actor),
      el('td', {}, a.action), el('td', {}, a.target || ''), el('td', {}, a.outcome), el('td', {}, a.detail || ''))))));
  document.body.dataset.ready = 'audit';
}
