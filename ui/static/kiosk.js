// Kiosk: go back to the start screen after a spell without input, so the
// next visitor never sees the last one's details. The page sets the spell
// in <body data-idle="seconds">.
(function () {
  var idle = parseInt(document.body.getAttribute("data-idle") || "30", 10) * 1000;
  var timer;
  function reset() {
    clearTimeout(timer);
    timer = setTimeout(function () { window.location.href = "/kiosk"; }, idle);
  }
  ["click", "keydown", "touchstart", "input", "scroll"].forEach(function (e) {
    document.addEventListener(e, reset, { passive: true });
  });
  reset();
})();
