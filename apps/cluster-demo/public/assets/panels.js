// Renders what the server pushes (workers, sessions, the audit trail) and what the page measures (limits, health).
import { $, ago, clock, duration, h, shortId } from './dom.js';

const STATUS_TONE = { 2: 'ok', 4: 'warn', 5: 'bad' };
const tone = (status) => (status === 0 ? 'bad' : (STATUS_TONE[String(status)[0]] ?? 'info'));

/** The workers table, one row per worker the primary knows of. */
export function renderWorkers(snapshot, streamWorker) {
  const body = $('#workers tbody');
  body.replaceChildren(
    ...snapshot.workers.map((w) => {
      const ping = w.redisLatencyMs === null ? (w.redisError ?? 'no answer') : `${w.redisLatencyMs} ms`;
      return h(
        'tr',
        {
          dataset: {
            worker: w.id,
            breaker: w.breaker,
            stale: String(w.stale),
            redis: w.redisLatencyMs === null ? 'error' : 'ok',
          },
          class: w.stale ? 'stale' : undefined,
        },
        h(
          'td',
          {},
          h('b', {}, w.id),
          w.id === streamWorker ? h('span', { class: 'tag' }, 'this stream') : null,
        ),
        h('td', {}, w.pid),
        h('td', {}, duration(w.uptimeSeconds)),
        h('td', { class: 'num' }, w.requests.toLocaleString()),
        h('td', {}, h('span', { class: `badge breaker-${w.breaker}` }, w.breaker)),
        h('td', { class: w.redisLatencyMs === null ? 'bad-text' : undefined }, ping),
        h('td', { class: 'num' }, w.viewers),
      );
    }),
  );
}

/** Redis state and the pause/resume buttons (only for a Redis the demo started itself). */
export function renderRedis(redis) {
  const state = !redis.owned ? 'configured' : redis.paused ? 'paused' : 'running';
  const label = $('#redis-state');
  label.textContent = state;
  label.dataset.state = state;
  $('#pause').hidden = !redis.owned || redis.paused;
  $('#resume').hidden = !redis.owned || !redis.paused;
  $('#redis-detail').textContent = !redis.owned
    ? 'set by REDIS_URL (or Cluster/Sentinel): the demo never pauses a Redis it did not start'
    : redis.paused
      ? `frozen since ${new Date(redis.pausedAt).toLocaleTimeString([], { hour12: false })}, thaws by itself at ${new Date(redis.resumesAt).toLocaleTimeString([], { hour12: false })}`
      : 'the throwaway redis-server this demo started';
}

/**
 * Every user's sessions. `actions` holds revoke(userId, sessionId), keepOnly(userId, sessionId)
 * and revokeAll(userId); `current` is the dashboard's own session.
 */
export function renderSessions(snapshot, current, actions) {
  const notice = $('#sessions-notice');
  const container = $('#sessions');
  if (snapshot.unavailable) {
    notice.textContent = `Redis cannot answer: the lists below are the last known (retry in ${snapshot.unavailable.retryAfterSeconds} s).`;
    notice.hidden = false;
    container.classList.add('stale');
    return;
  }
  notice.hidden = true;
  container.classList.remove('stale');
  container.replaceChildren(
    ...snapshot.users.map(({ userId, sessions }) =>
      h(
        'div',
        { class: 'user', dataset: { user: userId } },
        h(
          'h3',
          {},
          userId,
          h('small', {}, `${sessions.length} live`),
          sessions.length > 0
            ? h(
                'button',
                { type: 'button', class: 'danger small', onclick: () => actions.revokeAll(userId) },
                'Revoke all',
              )
            : null,
        ),
        sessions.length === 0
          ? h('p', { class: 'hint' }, 'no live session')
          : h(
              'table',
              { class: 'data' },
              h(
                'tbody',
                {},
                sessions.map((s) =>
                  h(
                    'tr',
                    {
                      dataset: { sessionId: s.sessionId },
                      class: s.sessionId === current ? 'current' : undefined,
                    },
                    h(
                      'td',
                      { title: s.sessionId },
                      h('code', {}, shortId(s.sessionId)),
                      h('span', { class: 'tag' }, s.metadata?.channel ?? '?'),
                      s.sessionId === current ? h('span', { class: 'tag you' }, 'this dashboard') : null,
                    ),
                    h(
                      'td',
                      { class: 'device', title: s.metadata?.device ?? '' },
                      s.metadata?.device ?? '—',
                      h('div', { class: 'hint' }, s.metadata?.ip ?? ''),
                    ),
                    h(
                      'td',
                      { class: 'times' },
                      h('div', { title: s.createdAt }, `signed in ${ago(s.createdAt)}`),
                      h('div', { class: 'hint', title: s.lastSeenAt }, `seen ${ago(s.lastSeenAt)}`),
                    ),
                    h(
                      'td',
                      { class: 'actions' },
                      h(
                        'button',
                        {
                          type: 'button',
                          class: 'small',
                          onclick: () => actions.revoke(userId, s.sessionId),
                        },
                        'Revoke',
                      ),
                      sessions.length > 1
                        ? h(
                            'button',
                            {
                              type: 'button',
                              class: 'small quiet',
                              onclick: () => actions.keepOnly(userId, s.sessionId),
                            },
                            'Sign out others',
                          )
                        : null,
                    ),
                  ),
                ),
              ),
            ),
      ),
    ),
  );
}

/** Adds a finished request to the top of the log (50 kept). */
export function logRequest(seq, who, request, answer) {
  const detail =
    answer.error ??
    [
      answer.retryAfter ? `Retry-After: ${answer.retryAfter}` : '',
      typeof answer.data?.error === 'string' ? answer.data.error : '',
    ]
      .filter(Boolean)
      .join(' · ');
  const row = h(
    'tr',
    { dataset: { seq: String(seq), status: String(answer.status), session: who.sessionId ?? '' } },
    h('td', { class: 'num' }, seq),
    h('td', {}, clock()),
    h('td', {}, who.label),
    h('td', {}, h('code', {}, request)),
    h('td', {}, h('span', { class: `badge ${tone(answer.status)}` }, answer.status || 'error')),
    h('td', {}, answer.worker),
    h('td', { class: 'hint' }, detail),
  );
  const body = $('#log tbody');
  body.prepend(row);
  while (body.rows.length > 50) body.lastElementChild.remove();
}

/** name → { quota, windowSeconds, remaining, resetsAt, label } */
const limits = new Map();

/** Remembers the limits an answer reported; `user` names the per-user bucket. */
export function recordLimits(found, user) {
  for (const limit of found) {
    const key = limit.name === 'per-user' ? `per-user:${user}` : limit.name;
    limits.set(key, {
      ...limit,
      label: limit.name === 'per-user' ? `per-user (${user})` : `${limit.name} (this browser's address)`,
      resetsAt: Date.now() + (limit.resetSeconds ?? 0) * 1000,
    });
  }
  renderLimits();
}

export function renderLimits() {
  $('#limits-empty').hidden = limits.size > 0;
  $('#limits tbody').replaceChildren(
    ...[...limits].map(([key, limit]) => {
      const left = Math.max(0, (limit.resetsAt - Date.now()) / 1000);
      const share = limit.quota ? Math.round((100 * limit.remaining) / limit.quota) : 0;
      return h(
        'tr',
        { dataset: { limit: key } },
        h('td', {}, limit.label),
        h('td', { class: 'num' }, limit.quota ?? '?'),
        h('td', {}, limit.windowSeconds ? `${limit.windowSeconds} s` : '?'),
        h(
          'td',
          {},
          h('span', { class: 'meter' }, h('span', { class: 'fill', style: `width:${share}%` })),
          ` ${limit.remaining}`,
        ),
        h('td', {}, left > 0 ? `${Math.ceil(left)} s` : 'window over'),
      );
    }),
  );
}

/** /health/ready and /health/detailed as the probes get them. */
export function renderHealth(ready, detailed) {
  const services = Array.isArray(detailed.data?.services) ? detailed.data.services : [];
  $('#health').replaceChildren(
    h(
      'div',
      { class: 'probes' },
      h(
        'div',
        { class: 'probe', dataset: { probe: 'ready', status: String(ready.status) } },
        h('code', {}, 'GET /health/ready'),
        h('span', { class: `badge ${tone(ready.status)}` }, ready.status || 'error'),
        h('span', {}, ready.data?.status ?? ready.error ?? ''),
        h('span', { class: 'hint' }, `worker ${ready.worker}`),
      ),
      h(
        'div',
        { class: 'probe', dataset: { probe: 'detailed', status: String(detailed.status) } },
        h('code', {}, 'GET /health/detailed'),
        h('span', { class: `badge ${tone(detailed.status)}` }, detailed.status || 'error'),
        h('span', {}, detailed.data?.status ?? detailed.error ?? ''),
        h('span', { class: 'hint' }, detailed.data?.environment ? `${detailed.data.environment}` : ''),
      ),
    ),
    services.length === 0
      ? null
      : h(
          'table',
          { class: 'data' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['service', 'status', 'required', 'latency', 'message'].map((c) => h('th', {}, c)),
            ),
          ),
          h(
            'tbody',
            {},
            services.map((s) =>
              h(
                'tr',
                {},
                h('td', {}, s.name),
                h('td', {}, h('span', { class: `badge ${s.healthy ? 'ok' : 'bad'}` }, s.status)),
                h('td', {}, s.required ? 'yes' : 'no'),
                h('td', { class: 'num' }, typeof s.latency_ms === 'number' ? `${s.latency_ms} ms` : '—'),
                h('td', { class: 'hint' }, s.message ?? ''),
              ),
            ),
          ),
        ),
    h(
      'details',
      {},
      h('summary', {}, 'raw /health/detailed'),
      h('pre', {}, JSON.stringify(detailed.data, null, 2)),
    ),
  );
}

/** The newest audit-trail entries, newest first: what happened, to whom, when, from which process. */
export function renderAudit(lines) {
  $('#audit-empty').hidden = lines.length > 0;
  $('#audit tbody').replaceChildren(
    ...lines.map((entry) =>
      h(
        'tr',
        { dataset: { id: entry.id, type: entry.type } },
        h('td', {}, new Date(entry.at).toLocaleTimeString()),
        h('td', {}, h('code', {}, entry.type)),
        h('td', {}, entry.user ?? ''),
        h('td', { class: 'hint' }, entry.origin),
      ),
    ),
  );
}
