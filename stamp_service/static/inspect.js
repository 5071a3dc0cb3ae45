// Camera check for inspectors: where the browser has BarcodeDetector, read QR codes from the camera and submit
// the first one; elsewhere the photo upload (decoded on the server) works on every phone.
(function () {
  var start = document.getElementById("camera-start");
  var box = document.getElementById("camera");
  var video = document.getElementById("camera-video");
  var status = document.getElementById("camera-status");
  var form = document.getElementById("code-form");
  if (!start || !form) return;
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
    document.getElementById("camera-unsupported").hidden = false;
    return;
  }
  start.hidden = false;
  start.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      box.hidden = false;
      start.hidden = true;
      video.srcObject = stream;
      video.play();
      var tick = function () {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            stream.getTracks().forEach(function (t) { t.stop(); });
            form.querySelector("input[name=code]").value = codes[0].rawValue;
            form.submit();
          } else {
            requestAnimationFrame(tick);
          }
        }).catch(function () { requestAnimationFrame(tick); });
      };
      tick();
    }).catch(function (err) { status.textContent = String(err); box.hidden = false; });
  });
})();
