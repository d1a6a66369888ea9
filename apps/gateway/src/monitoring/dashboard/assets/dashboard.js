// BYOVA gateway dashboard: live updates over Server-Sent Events, and the End call button.
// Served by the gateway; the pages' CSP allows only this file as script.
(function () {
  'use strict';

  var main = document.getElementById('main');
  var live = main ? main.getAttribute('data-live') : '';
  // Overview and lists: their stream (?view=) pushes the live region itself. A call's page fetches itself.
  var events = main ? main.getAttribute('data-events') : '';
  var callId = main ? main.getAttribute('data-call-id') : '';
  var statusEl = document.getElementById('live-status');

  function say(text, state) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.className = 'live-status' + (state ? ' ' + state : '');
  }

  // ---- End call: POST /api/conversations/:id/end with the session's CSRF token ----
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form || !form.hasAttribute('data-end-call')) return;
    ev.preventDefault();
    if (!window.confirm('End this call now? The caller is disconnected.')) return;
    var meta = document.querySelector('meta[name="csrf-token"]');
    var headers = { Accept: 'application/json' };
    if (meta) headers['X-CSRF-Token'] = meta.getAttribute('content');
    var out = document.getElementById('end-call-status');
    var button = form.querySelector('button');
    if (button) button.disabled = true;
    fetch(form.getAttribute('action'), { method: 'POST', headers: headers, credentials: 'same-origin' })
      .then(function (res) {
        return res.json().then(function (body) {
          if (out) out.textContent = res.ok ? 'Call ended.' : 'Could not end the call: ' + (body && body.message ? body.message : res.status);
          refresh();
        });
      })
      .catch(function () {
        if (out) out.textContent = 'Could not end the call: the gateway did not answer.';
        if (button) button.disabled = false;
      });
  });

  if (!live || !window.EventSource || !window.fetch) return;

  // ---- Live regions: swap in a pushed region, or fetch this page again and swap in its [data-region] parts ----
  var busy = false;
  var again = false;

  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    fetch(window.location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' }, redirect: 'manual' })
      .then(function (res) {
        if (res.status !== 200 && res.status !== 404) throw new Error('HTTP ' + res.status);
        return res.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var regions = document.querySelectorAll('[data-region]');
        for (var i = 0; i < regions.length; i++) {
          var old = regions[i];
          var fresh = doc.getElementById(old.id);
          if (fresh) swap(old, fresh);
        }
      })
      .catch(function () {
        say('Live updates: could not refresh (reload the page)', 'off');
      })
      .then(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  // Keeps keyboard focus on the same link or control when the region around it is replaced.
  function swap(old, fresh) {
    var active = document.activeElement;
    var key = active && old.contains(active) ? active.getAttribute('href') || active.id : null;
    old.replaceWith(document.adoptNode(fresh));
    if (key) {
      var target = fresh.querySelector('[href="' + CSS.escape(key) + '"]') || document.getElementById(key);
      if (target) target.focus();
    }
  }

  var source = new EventSource(events || '/dashboard/events');
  source.addEventListener('open', function () {
    say('Live updates on', 'on');
  });
  source.addEventListener('error', function () {
    // CLOSED: refused (a login that expired, too many viewers); the browser will not retry by itself.
    if (source.readyState === EventSource.CLOSED) say('Live updates stopped: reload the page', 'off');
    else say('Live updates: reconnecting…', 'off');
  });
  // An event's JSON data, or null when it is not JSON.
  function data(e) {
    try {
      return JSON.parse(e.data);
    } catch (err) {
      return null;
    }
  }
  source.addEventListener('calls', function (e) {
    var d = data(e);
    if (d && live === 'call' && (d.more || d.ids.indexOf(callId) !== -1)) refresh();
  });
  source.addEventListener('region', function (e) {
    var d = data(e);
    if (!d) return;
    var old = document.getElementById(d.id);
    if (!old || !old.hasAttribute('data-region')) return;
    // A template parses without running anything; the server escaped every value in it.
    var tpl = document.createElement('template');
    tpl.innerHTML = d.html;
    var fresh = tpl.content.firstElementChild;
    if (fresh && fresh.id === d.id) swap(old, fresh);
  });
  window.addEventListener('pagehide', function () {
    source.close();
  });
})();
