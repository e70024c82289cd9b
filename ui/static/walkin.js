// Walk-in form: a passport or ID card laid on the desk's reader fills the
// open form live (server-sent events from /desk/walkin/reads). Fields whose
// check failed are marked and named; the guard corrects and registers.
(function () {
  var form = document.getElementById("walkin-form");
  if (!form || !window.EventSource) { return; }
  var status = document.getElementById("doc-status");
  var warning = document.getElementById("doc-warning");
  var after = form.getAttribute("data-doc-after") || "0";
  var es = new EventSource("/desk/walkin/reads?after=" + encodeURIComponent(after));
  es.addEventListener("none", function () { es.close(); });
  function clearMarks() {
    form.querySelectorAll(".doc-error").forEach(function (p) {
      var f = p.closest(".field");
      if (f) { f.classList.remove("has-error"); }
      p.remove();
    });
  }
  function mark(name, msg) {
    var input = form.elements[name];
    if (!input) { return; }
    var f = input.closest(".field");
    if (!f) { return; }
    f.classList.add("has-error");
    input.setAttribute("aria-invalid", "true");
    var p = document.createElement("p");
    p.className = "error doc-error";
    p.id = "e-" + name;
    p.textContent = msg;
    f.appendChild(p);
  }
  // A visitor whose ID card opens the gates needs no phone.
  var box = form.elements["bind_card"], mobile = form.elements["mobile"];
  if (box && mobile) {
    box.addEventListener("change", function () { mobile.required = !box.checked; });
  }
  es.addEventListener("document", function (e) {
    var d;
    try { d = JSON.parse(e.data); } catch (err) { return; }
    clearMarks();
    Object.keys(d.fields || {}).forEach(function (k) {
      var input = form.elements[k];
      if (input) {
        input.value = d.fields[k];
        input.removeAttribute("aria-invalid");
      }
    });
    Object.keys(d.bad || {}).forEach(function (k) { mark(k, d.bad[k]); });
    var chip = form.elements["chip"], bind = document.getElementById("bind-card");
    if (chip) { chip.value = d.chip || ""; }
    if (bind) {
      bind.hidden = !d.chip;
      if (box && !d.chip) {
        box.checked = false;
        if (mobile) { mobile.required = true; }
      }
    }
    if (status) { status.textContent = d.status; }
    if (warning) {
      warning.textContent = d.warning || "";
      warning.hidden = !d.warning;
    }
    form.setAttribute("data-doc-filled", String(d.seq));
    var name = form.elements["name"];
    if (name) { name.focus(); }
  });
})();
