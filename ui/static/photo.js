// Visitor photo at the desk: the tablet's camera in the page, no app. The
// picture goes into the form as a JPEG data URL; the server seals it.
(function () {
  var start = document.getElementById("photo-start");
  if (!start) { return; }
  var take = document.getElementById("photo-take");
  var video = document.getElementById("photo-video");
  var canvas = document.getElementById("photo-canvas");
  var preview = document.getElementById("photo-preview");
  var field = document.getElementById("f-photo");
  var stream = null;
  function stop() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    start.hidden = true;
    document.getElementById("photo-unavailable").hidden = false;
    return;
  }
  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: 640, height: 480 }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        preview.hidden = true;
        take.hidden = false;
        return video.play();
      })
      .catch(function () {
        document.getElementById("photo-unavailable").hidden = false;
      });
  });
  take.addEventListener("click", function () {
    var w = video.videoWidth || 640, h = video.videoHeight || 480;
    var scale = Math.min(1, 640 / w);
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    field.value = canvas.toDataURL("image/jpeg", 0.8);
    preview.src = field.value;
    preview.hidden = false;
    video.hidden = true;
    take.hidden = true;
    stop();
  });
  window.addEventListener("pagehide", stop);
})();
