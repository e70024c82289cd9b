// Guard station: live gate feed and alarms over server-sent events, with a
// sound for alarms once the guard has allowed it (browsers need a tap).
(function () {
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-print]")) { window.print(); }
  });
  var rows = document.getElementById("feed-rows");
  if (!rows || !window.EventSource) { return; }
  var alarms = document.getElementById("alarms");
  var audio = null;
  var soundBtn = document.getElementById("sound-on");
  if (soundBtn) {
    soundBtn.addEventListener("click", function () {
      audio = new (window.AudioContext || window.webkitAudioContext)();
      soundBtn.hidden = true;
    });
  }
  function beep() {
    if (!audio) { return; }
    var o = audio.createOscillator(), g = audio.createGain();
    o.type = "square"; o.frequency.value = 880;
    g.gain.value = 0.2;
    o.connect(g); g.connect(audio.destination);
    o.start(); o.stop(audio.currentTime + 0.6);
  }
  var es = new EventSource("/guard/stream");
  es.addEventListener("gate", function (e) {
    rows.insertAdjacentHTML("afterbegin", e.data);
    // A live row's "let in" form posts through htmx, as the page's own.
    if (window.htmx) { window.htmx.process(rows.firstElementChild); }
    while (rows.children.length > 50) { rows.removeChild(rows.lastElementChild); }
  });
  es.addEventListener("alarm", function (e) {
    alarms.insertAdjacentHTML("afterbegin", e.data);
    beep();
  });
})();
