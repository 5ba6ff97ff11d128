// Live capture for the consent and registry pages: the browser camera records six seconds with sound while the page
// shows the challenge; the clip goes into the form's file field (#capture) so the form posts it as usual, with
// capture_source "camera" (a file chosen by hand is "file").
(function () {
  const camera = document.getElementById("camera");
  if (!camera || !navigator.mediaDevices || !window.MediaRecorder) return;
  const preview = document.getElementById("preview");
  const button = document.getElementById("record"), status = document.getElementById("record-status");
  const field = document.getElementById("capture"), source = document.getElementById("capture-source");
  // A file chosen by hand is sent as such (consent approvals from a file may wait for a staff review).
  field.addEventListener("change", function () { if (source) source.value = "file"; });
  camera.hidden = false;
  button.addEventListener("click", async function () {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}, audio: true});
    } catch (error) {
      status.textContent = "No camera available: choose a video file below.";
      return;
    }
    preview.srcObject = stream;
    const chunks = [], recorder = new MediaRecorder(stream);
    recorder.ondataavailable = function (event) { chunks.push(event.data); };
    recorder.onstop = function () {
      stream.getTracks().forEach(function (track) { track.stop(); });
      const file = new File([new Blob(chunks, {type: recorder.mimeType})], "capture.webm", {type: recorder.mimeType});
      const transfer = new DataTransfer();
      transfer.items.add(file);
      field.files = transfer.files;
      if (source) source.value = "camera";
      status.textContent = "Recorded. Check the form below, then send it.";
    };
    button.disabled = true;
    status.textContent = "Recording: look at the camera, then follow the challenge.";
    recorder.start();
    setTimeout(function () { recorder.stop(); button.disabled = false; }, 6000);
  });
})();
