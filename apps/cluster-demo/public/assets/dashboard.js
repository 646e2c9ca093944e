// The dashboard page: signs the admin in (cookie session), follows the server's event stream and
// drives the request panel. No build step: plain ES modules served as they are.
import { $, h, notice, shortId, show } from './dom.js';
import { call } from './http.js';
import {
  logRequest,
  recordLimits,
  renderAudit,
  renderHealth,
  renderLimits,
  renderRedis,
  renderSessions,
  renderWorkers,
} from './panels.js';

const HEALTH_EVERY_MS = 2_000;
/** The pause's resume key outlives a reload of the tab (Redis is frozen: nobody could sign in again). */
const RESUME_KEY = 'cluster-demo.resume-key';
const enc = encodeURIComponent;

const state = {
  /** The open EventSource, if any. */
  source: undefined,
  streamWorker: undefined,
  /** The dashboard's own session id (marked in the session list). */
  sessionId: undefined,
  /** Request panel sessions: { user, sessionId, token, label }. Tokens live in this page only. */
  panel: [],
  seq: 0,
  timers: [],
};

function setStream(text) {
  const badge = $('#stream-state');
  badge.textContent = text;
  badge.dataset.state = text;
}

function stopLive() {
  state.source?.close();
  state.source = undefined;
  for (const timer of state.timers) clearInterval(timer);
  state.timers = [];
}

function signInView(message = '') {
  stopLive();
  state.panel = [];
  renderPanelSessions();
  show('sign-in');
  $('#sign-in-error').textContent = message;
}

async function boot() {
  const me = await call('GET', '/dashboard/api/me');
  if (me.status === 200) {
    notice('');
    if (!me.data.admin) {
      stopLive();
      $('#forbidden-user').textContent = me.data.user;
      return show('forbidden');
    }
    return enter(me.data);
  }
  if (me.status === 401) return signInView();
  notice(`Your session cannot be checked right now (${me.status || 'network error'}); trying again…`, 'warn');
  setTimeout(boot, 2_000);
}

function enter(me) {
  state.sessionId = me.sessionId;
  $('#who-user').textContent = me.user;
  show('dashboard');
  if (!state.source) connect();
  if (state.timers.length === 0) {
    state.timers.push(setInterval(renderLimits, 1_000));
    void pollHealth();
    state.timers.push(setInterval(pollHealth, HEALTH_EVERY_MS));
  }
}

/** The server's Server-Sent Events: workers every second, sessions on every change. */
function connect() {
  const source = new EventSource('/dashboard/api/events');
  state.source = source;
  setStream('connecting');
  const on = (type, handle) => source.addEventListener(type, (event) => handle(JSON.parse(event.data)));
  on('hello', (hello) => {
    state.streamWorker = hello.worker;
    state.sessionId = hello.sessionId;
    $('#who-worker').textContent = hello.worker;
    setStream('live');
  });
  on('workers', (snapshot) => {
    renderWorkers(snapshot, state.streamWorker);
    renderRedis(snapshot.redis);
  });
  on('sessions', (snapshot) => renderSessions(snapshot, state.sessionId, sessionActions));
  on('audit', renderAudit);
  on('verification', ({ verified }) => {
    setStream(verified ? 'live' : 'unverified');
    $('#sessions').classList.toggle('stale', !verified);
    const message = 'Redis cannot vouch for your session: session data is paused until it can.';
    if (!verified) notice(message, 'warn');
    else if ($('#notice').textContent === message) notice('');
  });
  on('signed-out', ({ reason }) => {
    source.close();
    signInView(reason === 'forbidden' ? 'You are no longer an administrator.' : 'Your session has ended.');
  });
  source.onerror = () => {
    if (source !== state.source) return;
    if (source.readyState !== EventSource.CLOSED) return setStream('reconnecting');
    // Refused (401/403/503): find out why before trying again.
    state.source = undefined;
    setStream('offline');
    setTimeout(boot, 2_000);
  };
}

async function act(method, path) {
  const answer = await call(method, path);
  if (answer.status >= 400 || answer.status === 0) {
    notice(`${method} ${path} answered ${answer.status || 'nothing'} ${answer.data?.error ?? ''}`, 'warn');
  }
  return answer;
}

const sessionActions = {
  revoke: (userId, sessionId) =>
    act('DELETE', `/dashboard/api/users/${enc(userId)}/sessions/${enc(sessionId)}`),
  keepOnly: (userId, sessionId) =>
    act('DELETE', `/dashboard/api/users/${enc(userId)}/sessions/${enc(sessionId)}/others`),
  revokeAll: (userId) => act('DELETE', `/dashboard/api/users/${enc(userId)}/sessions`),
};

async function pollHealth() {
  const [ready, detailed] = await Promise.all([
    call('GET', '/health/ready'),
    call('GET', '/health/detailed'),
  ]);
  if (!$('#dashboard').hidden) renderHealth(ready, detailed);
}

// --- request panel -------------------------------------------------------------------------

function nextSeq() {
  state.seq += 1;
  $('#log').dataset.count = String(state.seq);
  return state.seq;
}

function renderPanelSessions() {
  $('#panel-sessions').replaceChildren(
    ...state.panel.map((session) =>
      h(
        'li',
        { dataset: { panelSession: session.sessionId, user: session.user } },
        h('code', {}, session.label),
        h('button', { type: 'button', class: 'small', onclick: () => fire(session) }, 'GET /api/me'),
        h('button', { type: 'button', class: 'small quiet', onclick: () => burst(session, 10) }, '×10'),
        h('button', { type: 'button', class: 'small quiet', onclick: () => forget(session) }, 'forget'),
      ),
    ),
  );
}

async function createApiSession(event) {
  event.preventDefault();
  const username = $('#api-username').value.trim();
  const password = $('#api-password').value;
  const seq = nextSeq();
  const answer = await call('POST', '/auth/login', { body: { username, password }, fresh: true });
  logRequest(seq, { label: username }, 'POST /auth/login', answer);
  recordLimits(answer.limits, username);
  if (answer.status !== 201) return;
  const { sessionId, accessToken } = answer.data;
  state.panel.push({ user: username, sessionId, token: accessToken, label: shortId(sessionId) });
  renderPanelSessions();
}

async function fire(session, path = '/api/me') {
  const seq = nextSeq();
  const answer = await call('GET', path, { token: session.token, fresh: true });
  logRequest(seq, session, `GET ${path}`, answer);
  recordLimits(answer.limits, session.user);
}

function burst(session, count) {
  return Promise.all(Array.from({ length: count }, () => fire(session)));
}

function forget(session) {
  state.panel = state.panel.filter((s) => s !== session);
  renderPanelSessions();
}

// --- wiring --------------------------------------------------------------------------------

$('#sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = $('#sign-in-username').value.trim();
  const password = $('#sign-in-password').value;
  const answer = await call('POST', '/dashboard/auth/login', { body: { username, password } });
  if (answer.status === 201) {
    $('#sign-in-password').value = '';
    $('#sign-in-error').textContent = '';
    return boot();
  }
  const reasons = {
    401: 'Wrong username or password.',
    403: "Refused: this page is not on the dashboard's origin.",
    429: `Too many attempts; retry in ${answer.retryAfter} s.`,
    503: `Redis cannot answer; retry in ${answer.retryAfter} s.`,
  };
  $('#sign-in-error').textContent = reasons[answer.status] ?? `Sign-in failed (${answer.status}).`;
});

$('#api-login').addEventListener('submit', createApiSession);

$('#sign-out').addEventListener('click', async () => {
  await act('POST', '/dashboard/auth/logout');
  signInView('Signed out.');
});
$('#forbidden-sign-out').addEventListener('click', async () => {
  await act('POST', '/dashboard/auth/logout');
  signInView('Signed out.');
});
$('#sign-out-others').addEventListener('click', async () => {
  const answer = await act('DELETE', '/dashboard/auth/sessions/others');
  if (answer.status === 200) notice(`Signed out ${answer.data.revoked} other session(s) of yours.`);
});

$('#pause').addEventListener('click', async () => {
  const answer = await act('POST', '/dashboard/api/redis/pause');
  if (answer.status !== 200) return;
  sessionStorage.setItem(RESUME_KEY, answer.data.resumeKey);
  renderRedis(answer.data.redis);
});
$('#resume').addEventListener('click', async () => {
  const resumeKey = sessionStorage.getItem(RESUME_KEY) ?? undefined;
  const answer = await call('POST', '/dashboard/api/redis/resume', { body: { resumeKey } });
  if (answer.status !== 200) {
    notice(
      `Resume answered ${answer.status} ${answer.data?.error ?? ''}: Redis thaws by itself at the time shown.`,
      'warn',
    );
    return;
  }
  sessionStorage.removeItem(RESUME_KEY);
  renderRedis(answer.data.redis);
});

void boot();
