// The announcement editor: a small toolbar over a contenteditable area that
// writes its HTML back into the form's textarea. Without scripts the
// textarea itself is the editor (plain HTML). The server sanitises what
// arrives, so this script only has to be convenient, not safe.
(function () {
  "use strict";

  // Live hints: the title's length warning and the description's count.
  function count(el) { return Array.from(el.value.trim()).length; }
  document.querySelectorAll("[data-warn-over]").forEach(function (input) {
    var warn = document.getElementById(input.dataset.warn);
    var over = parseInt(input.dataset.warnOver, 10);
    var update = function () { warn.hidden = count(input) <= over; };
    input.addEventListener("input", update);
    update();
  });
  document.querySelectorAll("[data-count-max]").forEach(function (input) {
    var out = document.getElementById(input.dataset.count);
    var max = parseInt(input.dataset.countMax, 10);
    var base = out.textContent;
    var update = function () {
      var n = count(input);
      out.textContent = base + " (" + n + "/" + max + ")";
      out.classList.toggle("error", n > max);
    };
    input.addEventListener("input", update);
    update();
  });

  // Parts of a form that apply to one choice only ("kind=urgent"): hidden
  // while another is chosen. Without scripts every part shows.
  document.querySelectorAll("[data-show-if]").forEach(function (part) {
    var want = part.dataset.showIf.split("=");
    var form = part.closest("form");
    var update = function () {
      var on = form.querySelector("input[name=" + want[0] + "]:checked");
      part.hidden = !on || on.value !== want[1];
    };
    form.addEventListener("change", update);
    update();
  });

  var source = document.getElementById("f-content");
  var area = document.getElementById("rich-area");
  var bar = document.getElementById("rich-toolbar");
  if (!source || !area || !bar) return;

  area.innerHTML = source.value;
  area.contentEditable = "true";
  area.setAttribute("role", "textbox");
  area.setAttribute("aria-multiline", "true");
  area.hidden = false;
  bar.hidden = false;
  source.hidden = true;
  var help = document.getElementById("content-help");
  if (help) help.hidden = true;

  var sync = function () { source.value = area.innerHTML; };
  area.addEventListener("input", sync);
  source.form.addEventListener("submit", sync);
  document.execCommand("styleWithCSS", false, false);

  var saved = null; // the selection, kept while a dialog or picker has focus
  var keep = function () {
    var s = window.getSelection();
    if (s.rangeCount && area.contains(s.anchorNode)) saved = s.getRangeAt(0).cloneRange();
  };
  var restore = function () {
    area.focus();
    if (saved) {
      var s = window.getSelection();
      s.removeAllRanges();
      s.addRange(saved);
    }
  };
  area.addEventListener("keyup", keep);
  area.addEventListener("mouseup", keep);

  var escape = function (t) {
    var d = document.createElement("div");
    d.textContent = t;
    return d.innerHTML;
  };

  var insert = function (html) {
    restore();
    document.execCommand("insertHTML", false, html);
    sync();
  };

  bar.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-cmd]");
    if (!b) return;
    ev.preventDefault();
    var cmd = b.dataset.cmd;
    switch (cmd) {
      case "link": {
        keep();
        var url = window.prompt(b.dataset.prompt || "https://", "https://");
        if (!url || !/^(https?:\/\/|mailto:)/i.test(url)) return;
        restore();
        document.execCommand("createLink", false, url);
        break;
      }
      case "table":
        insert("<table><tbody><tr><td>&nbsp;</td><td>&nbsp;</td></tr><tr><td>&nbsp;</td><td>&nbsp;</td></tr></tbody></table><p><br></p>");
        return;
      case "image":
        keep();
        document.getElementById("rich-image").click();
        return;
      default:
        restore();
        document.execCommand(cmd, false, b.dataset.arg || null);
    }
    sync();
  });

  bar.querySelector("select[data-cmd=colour]").addEventListener("change", function (ev) {
    var cls = ev.target.value;
    ev.target.value = "";
    if (!cls || !saved || saved.collapsed) return;
    insert('<span class="' + cls + '">' + escape(saved.toString()) + "</span>");
  });
  bar.querySelector("select[data-cmd=colour]").addEventListener("mousedown", keep);

  document.getElementById("rich-image").addEventListener("change", function (ev) {
    var file = ev.target.files[0];
    ev.target.value = "";
    if (!file) return;
    var body = new FormData();
    body.append("image", file);
    var csrf = source.form.querySelector("input[name=_csrf]");
    fetch("/notices/images", {
      method: "POST",
      body: body,
      headers: { "X-CSRF-Token": csrf ? csrf.value : "" },
      credentials: "same-origin",
    })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        if (j.url) insert('<img src="' + escape(j.url) + '" alt="">');
        else window.alert(j.error || ev.target.dataset.failed);
      })
      // Not JSON (a picture past the upload limit, a lost session) or no
      // network: say so rather than nothing.
      .catch(function () { window.alert(ev.target.dataset.failed); });
  });
})();
