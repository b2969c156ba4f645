// The check-in page's camera, only where the browser itself reads QR codes (BarcodeDetector):
// it fills the code field and sends the form, as a USB scanner would. Without it, or without
// JavaScript, the page works the same with a scanner or a typed code.
(function () {
  "use strict";
  var button = document.getElementById("camera");
  if (!button || !("BarcodeDetector" in window)) return;
  var form = document.getElementById("scan");
  var field = document.getElementById("code");
  var view = document.getElementById("camera-view");
  var stream = null, timer = null, video = null;

  window.BarcodeDetector.getSupportedFormats().then(function (formats) {
    if (formats.indexOf("qr_code") !== -1) button.hidden = false;
  }).catch(function () { /* no formats: no button */ });

  function stop() {
    clearInterval(timer);
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    if (video) video.remove();
    stream = timer = video = null;
    button.textContent = button.dataset.start;
  }

  function send(code) {
    field.value = code;
    stop();
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  function start() {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (camera) {
        stream = camera;
        video = document.createElement("video");
        video.muted = true;
        video.playsInline = true;
        video.setAttribute("aria-hidden", "true");  // the answer below says what it read
        video.srcObject = camera;
        view.appendChild(video);
        video.play();
        button.textContent = button.dataset.stop;
        timer = setInterval(function () {
          if (video.readyState < 2) return;
          detector.detect(video).then(function (codes) {
            if (codes.length && stream) send(codes[0].rawValue);
          }).catch(function () { /* a frame it could not read: try the next */ });
        }, 250);
      })
      .catch(function () { view.textContent = button.dataset.failed; });
  }

  button.addEventListener("click", function () { if (stream) stop(); else start(); });
})();
