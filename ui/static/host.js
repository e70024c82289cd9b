// Gatehouse: the host's home refreshes its lists when a notification about
// a visit arrives (events.js dispatches "gatehouse:notify").
(function () {
  var kinds = { 'visit.requested': 1, 'visit.arrived': 1, 'visit.approved': 1, 'visit.rejected': 1 };
  document.addEventListener('gatehouse:notify', function (e) {
    if (!e.detail || !kinds[e.detail.kind]) return;
    fetch(location.pathname, { credentials: 'same-origin' }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) return;
      var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('host-lists');
      var cur = document.getElementById('host-lists');
      if (fresh && cur) cur.replaceWith(fresh);
    });
  });
})();
