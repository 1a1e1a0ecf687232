// The login page (the one page without a session): password, then the authenticator code or its enrolment.
import { registerPage, api, el, clear, loggedIn, ApiError } from './app.js';

registerPage({
  id: 'login',
  title: 'Log in',
  roles: null,
  render(root) {
    clear(root);
    const state = { secondFactor: null };
    const user = el('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
    const pass = el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const code = el('input', { id: 'code', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9 ]{6,7}', maxlength: '7' });
    const codeRow = el('div', { class: 'row', hidden: true }, el('label', { for: 'code' }, 'Code from your authenticator app'), code);
    const enrol = el('div', { class: 'enrol', hidden: true, id: 'enrol' });
    const message = el('p', { class: 'message', role: 'alert', id: 'login-message' });
    const submit = el('button', { type: 'submit', id: 'login-submit' }, 'Log in');
    const form = el('form', { class: 'login', id: 'login-form', novalidate: true },
      el('h1', {}, 'CivicLens operator console'),
      el('div', { class: 'row' }, el('label', { for: 'username' }, 'User name'), user),
      el('div', { class: 'row' }, el('label', { for: 'password' }, 'Password'), pass),
      enrol, codeRow, message, submit);
    const status = el('form', { class: 'status-form', id: 'status-form' },
      el('label', { for: 'status-token' }, 'Reported a problem? Follow it with the code on your receipt:'),
      el('input', { id: 'status-token', name: 'token', autocomplete: 'off', required: true }),
      el('button', { type: 'submit' }, 'Show status'));
    status.addEventListener('submit', (e) => {
      e.preventDefault();
      const token = status.elements.token.value.trim();
      if (token) location.href = '/status/' + encodeURIComponent(token);
    });
    root.append(el('div', { class: 'login-page' }, form,
      el('aside', { class: 'public' },
        el('h2', {}, 'For the public'),
        el('p', {}, el('a', { href: '/transparency' }, 'Transparency register'), ': every camera, its purpose, legal basis and what it analyses.'),
        status)));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      message.textContent = '';
      submit.disabled = true;
      try {
        const body = { userName: user.value.trim(), password: pass.value };
        if (state.secondFactor) body.code = code.value.replace(/\s/g, '');
        const me = await api('/api/auth/login', { method: 'POST', body, keep: false });
        pass.value = '';
        await loggedIn(me);
      } catch (err) {
        const p = err instanceof ApiError ? err.problem : null;
        if (p && p.secondFactor && (!state.secondFactor || p.secondFactor === 'enrol')) {
          state.secondFactor = p.secondFactor;
          codeRow.hidden = false;
          if (p.secondFactor === 'enrol') {
            clear(enrol).append(
              el('p', {}, 'Your role needs a second factor. Add this account to an authenticator app, then enter its code:'),
              el('p', {}, 'Secret: ', el('code', { id: 'enrol-secret' }, p.secret || '')),
              el('p', { class: 'small' }, el('code', { id: 'enrol-uri' }, p.otpauthUri || '')));
            enrol.hidden = false;
          }
          message.textContent = p.secondFactor === 'enrol' ? '' : 'Enter the 6-digit code from your authenticator app.';
          code.focus();
        } else {
          message.textContent = err.message;
          if (state.secondFactor) code.select();
        }
      } finally {
        submit.disabled = false;
      }
    });
    user.focus();
    document.body.dataset.ready = 'login';
  },
});
