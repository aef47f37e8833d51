// Progressive enhancement for the console: every form works without this file. It adds
// "select all" on machine tables and live updates over server-sent events (boot timeline of a
// machine, import progress). Text goes in with textContent only, never as HTML.
'use strict';

function fmtTime(ms) {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

function selectAll() {
  const all = document.getElementById('select-all');
  if (!all) return;
  all.hidden = false;
  all.addEventListener('change', () => {
    for (const box of document.querySelectorAll('input[name="macs"]')) box.checked = all.checked;
  });
}

function liveTimeline() {
  const status = document.querySelector('[data-live-mac]');
  const list = document.getElementById('timeline');
  if (!status || !list || typeof EventSource === 'undefined') return;
  const mac = status.getAttribute('data-live-mac');
  const es = new EventSource('/api/v1/events/stream?mac=' + encodeURIComponent(mac));
  es.addEventListener('open', () => { status.textContent = 'Live: new steps appear as they happen.'; });
  // A 401 (the session expired) or any other refusal closes the stream for good: the browser
  // only retries after a network drop, so "reconnecting" would then be a lie.
  es.addEventListener('error', () => {
    status.textContent = es.readyState === EventSource.CLOSED
      ? 'Live updates stopped (signed out or the server refused); reload the page.'
      : 'Live updates paused; reconnecting…';
  });
  es.addEventListener('boot', (e) => {
    const ev = JSON.parse(e.data);
    const empty = list.querySelector('.empty');
    if (empty) empty.remove();
    const li = document.createElement('li');
    li.className = 'new';
    const time = document.createElement('time');
    time.textContent = fmtTime(ev.at);
    const stage = document.createElement('strong');
    stage.textContent = ev.stage;
    const detail = document.createElement('code');
    detail.textContent = JSON.stringify(ev.detail || {});
    li.append(time, ' ', stage, ' ', ev.ip || '', ' ', detail);
    list.prepend(li);
  });
}

function liveImports() {
  const list = document.getElementById('imports');
  if (!list || typeof EventSource === 'undefined') return;
  const es = new EventSource('/api/v1/imports/stream');
  es.addEventListener('import', (e) => {
    const job = JSON.parse(e.data);
    const empty = list.querySelector('.empty');
    if (empty) empty.remove();
    let li = list.querySelector('li[data-job="' + Number(job.id) + '"]');
    if (!li) {
      li = document.createElement('li');
      li.setAttribute('data-job', String(Number(job.id)));
      list.prepend(li);
    }
    li.textContent = '';
    const name = document.createElement('strong');
    name.textContent = job.name;
    const state = document.createElement('span');
    state.className = 'state';
    state.textContent = job.state + (job.progress ? ' (' + job.progress.phase + ')' : '');
    li.append(name, ' from ', job.path, ': ', state, ' ');
    if (job.progress) {
      const bar = document.createElement('progress');
      bar.max = job.progress.bytesTotal || 1;
      bar.value = job.progress.bytesDone;
      bar.textContent = job.progress.bytesDone + ' / ' + job.progress.bytesTotal;
      li.append(bar);
    }
    if (job.error) {
      const err = document.createElement('span');
      err.className = 'error';
      err.textContent = ' ' + job.error;
      li.append(err);
    }
  });
}

document.addEventListener('DOMContentLoaded', () => {
  selectAll();
  liveTimeline();
  liveImports();
});
