// The live check on the consent and registry pages (protocol: docs/api.md, "Live capture"). The camera and microphone
// stream to a capture opened on the server, in 250 ms chunks sent one at a time and in order; each answer lists the
// prompts the server has revealed so far (head turns, a colour flash, digits to read), which the page shows at once.
// On "done" the last chunks go; the person may watch the recording, then finish/ asks for the decision (or they record
// again, on a new capture). Before recording, the camera shows them a mirror to frame their face, and a 3-2-1
// countdown. Without JavaScript or a camera the page keeps its file-upload form (a recorded video, which only staff
// review can accept).
(function () {
  "use strict";
  // A refusal the server sent with the page (the form without JavaScript): bring it into view and read it out.
  const pageError = document.getElementById("decision-error");
  if (pageError) {
    pageError.scrollIntoView({block: "center"});
    pageError.focus();
  }
  const section = document.getElementById("live-check");
  if (!section || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) return;
  const form = section.closest("form");
  const capturesUrl = new URL(section.dataset.capturesUrl, window.location.href);
  const stage = document.getElementById("live-stage");
  const preview = document.getElementById("live-preview");
  const prompt = document.getElementById("live-prompt");
  const progress = document.getElementById("live-progress");
  const status = document.getElementById("live-status");
  const refusal = document.getElementById("live-refusal");
  const start = document.getElementById("live-start");
  const retry = document.getElementById("live-retry");
  const record = document.getElementById("live-record");
  const send = document.getElementById("live-send");
  const rerecord = document.getElementById("live-rerecord");
  const countdown = document.getElementById("live-countdown");
  const review = document.getElementById("live-review");
  const playback = document.getElementById("live-playback");
  const steps = document.querySelectorAll("#live-steps [data-step]");
  const flash = document.getElementById("live-flash");
  const fallback = document.getElementById("upload-fallback");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]");
  // WebM first (what the server's analysis knows best); fragmented MP4 where the browser records nothing else.
  const RECORDER_TYPES = ["video/webm;codecs=vp8,opus", "video/webm", "video/mp4;codecs=avc1,mp4a", "video/mp4"];
  // Stop by this time even if the server never says "done" (a capture lasts about 13 s).
  const LONGEST_S = 30;
  // The person's own left: the preview is a mirror, so their left is the screen's left.
  const ARROWS = {left: "\u2190", right: "\u2192", up: "\u2191", down: "\u2193"};
  const DIRECTIONS = {left: "to your own left", right: "to your own right", up: "up", down: "down"};
  const COUNTDOWN_FROM = 3;

  class Refusal extends Error {
    constructor(detail, answer) {
      super(detail);
      this.answer = answer || {};
    }
  }

  async function post(url, body, contentType) {
    const headers = {Accept: "application/json", "Content-Type": contentType};
    if (csrf) headers["X-CSRFToken"] = csrf.value;
    let response;
    try {
      response = await fetch(url, {method: "POST", headers: headers, body: body, credentials: "same-origin"});
    } catch (error) {
      throw new Refusal("The connection to Candor was lost.");
    }
    let answer = {};
    try {
      answer = await response.json();
    } catch (error) {
      answer = {};
    }
    if (!response.ok) {
      // The API's refusals are {"error": code, "detail": sentence}; a form's errors may be a list per field.
      const detail = typeof answer.detail === "string" ? answer.detail : Object.values(answer.detail || {}).flat().join(" ");
      throw new Refusal(detail || "Candor answered with an error (" + response.status + ").", answer);
    }
    return answer;
  }

  function say(text) {
    status.textContent = text;
  }

  function showPrompt(symbol, text) {
    prompt.replaceChildren();
    if (symbol) {
      const arrow = document.createElement("span");
      arrow.className = "live-arrow";
      arrow.setAttribute("aria-hidden", "true");
      arrow.textContent = symbol;
      prompt.append(arrow);
    }
    const words = document.createElement("span");
    words.className = "live-words";
    words.textContent = text;
    prompt.append(words);
  }

  // The whole viewport takes each colour for its duration, from the moment the prompt arrives: the challenge is the
  // light itself, so it neither waits nor fades.
  function runFlash(colours, durations) {
    let index = 0;
    function next() {
      if (index >= colours.length) {
        flash.hidden = true;
        flash.style.backgroundColor = "";
        return;
      }
      flash.style.backgroundColor = colours[index];
      flash.hidden = false;
      setTimeout(next, durations[index]);
      index += 1;
    }
    next();
  }

  function showRevealed(revealed) {
    if (revealed.kind === "turn") {
      showPrompt(ARROWS[revealed.value], "Turn your head " + DIRECTIONS[revealed.value] + ", then face the screen again");
    } else if (revealed.kind === "flash") {
      showPrompt("", "Keep facing the screen");
      runFlash(revealed.colours, revealed.durations_ms);
    } else if (revealed.kind === "digits") {
      showPrompt("", "Read aloud: " + revealed.value);
    } else if (revealed.kind === "done") {
      showPrompt("", "Done: checking your live video\u2026");
    }
  }

  // What the form says, as the finish/ body: the consent's name, text and scope (nothing on the registry pages).
  function finishFields() {
    const fields = {};
    const elements = form.elements;
    if (elements.full_name) fields.full_name = elements.full_name.value;
    if (elements.consent_text_sha256) fields.consent_text_sha256 = elements.consent_text_sha256.value;
    for (const name of ["purposes", "languages"]) {
      const boxes = form.querySelectorAll("input[type=checkbox][name=" + name + "]");
      if (boxes.length) fields[name] = Array.from(boxes).filter((box) => box.checked).map((box) => box.value);
    }
    if (elements.allow_label_removal) fields.allow_label_removal = elements.allow_label_removal.checked;
    // The end of the chosen day, UTC, as the form without JavaScript means it.
    if (elements.expires_at && elements.expires_at.value) fields.expires_at = elements.expires_at.value + "T23:59:59Z";
    return fields;
  }

  // Refusals after which this link takes no further capture (the server's detail says why, and what to do).
  const FINAL_REFUSALS = ["link_locked", "link_used", "link_expired"];

  function step(name) {
    steps.forEach((item) => {
      if (item.dataset.step === name) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
    });
  }

  function buttonsShow(...shown) {
    for (const button of [start, record, send, rerecord, retry]) button.hidden = !shown.includes(button);
  }

  // The reason, where the person is looking: scrolled into view and given the focus (a screen reader reads it).
  function refuse(error) {
    const final = FINAL_REFUSALS.includes(error.answer.error);
    stopPreview();
    reviewClear();
    refusal.textContent = error.message;
    refusal.hidden = false;
    prompt.replaceChildren();
    countdown.textContent = "";
    progress.hidden = true;
    say(final ? "The live check was refused; this link takes no more tries." : "The live check was refused.");
    start.disabled = false;
    buttonsShow(...(final ? [] : [retry]));
    refusal.scrollIntoView({block: "center"});
    refusal.focus();
  }

  function succeed() {
    say("Accepted.");
    if (section.dataset.doneUrl) {
      window.location.assign(section.dataset.doneUrl);
      return;
    }
    const done = document.createElement("div");
    done.className = "message success";
    done.tabIndex = -1;
    const title = document.createElement("h2");
    title.textContent = section.dataset.doneTitle;
    const message = document.createElement("p");
    message.textContent = section.dataset.doneMessage;
    done.append(title, message);
    form.replaceWith(done);
    done.focus();
  }

  async function openCamera() {
    try {
      return await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}, audio: true});
    } catch (error) {
      return null;
    }
  }

  let previewStream = null;
  let recording = null;  // {capture, blob} once recorded, until sent or recorded again

  function stopPreview() {
    if (previewStream) previewStream.getTracks().forEach((track) => track.stop());
    previewStream = null;
    preview.srcObject = null;
    stage.hidden = true;
  }

  function reviewClear() {
    if (playback.src) URL.revokeObjectURL(playback.src);
    playback.removeAttribute("src");
    review.hidden = true;
    recording = null;
  }

  // Nothing ticked is no approval: say so before the camera rather than after the recording.
  function choicesMissing() {
    for (const name of ["purposes", "languages"]) {
      const boxes = form.querySelectorAll("input[type=checkbox][name=" + name + "]");
      if (boxes.length && !Array.from(boxes).some((box) => box.checked)) {
        return name === "purposes" ? "Choose at least one purpose, or decline." : "Choose at least one language, or decline.";
      }
    }
    return "";
  }

  // Step 1: the camera as a mirror, to frame the face; nothing is recorded or sent yet.
  async function frame() {
    if (!form.reportValidity()) return;
    const missing = choicesMissing();
    if (missing) {
      refuse(new Refusal(missing));
      return;
    }
    refusal.hidden = true;
    reviewClear();
    start.disabled = true;
    say("Opening your camera and microphone\u2026");
    const stream = await openCamera();
    start.disabled = false;
    if (!stream) {
      say("No camera and microphone could be opened. You can send a recorded video for staff review instead.");
      if (fallback) fallback.open = true;
      return;
    }
    previewStream = stream;
    preview.srcObject = stream;
    stage.hidden = false;
    step("frame");
    // On a phone the picture and the prompts must be in view while the person faces the camera.
    stage.scrollIntoView({block: "center"});
    say("Frame your face inside the oval, in good light. Start recording when ready: a 3-2-1 countdown comes first.");
    buttonsShow(record);
    record.focus();
  }

  function countDown() {
    return new Promise((resolve) => {
      let left = COUNTDOWN_FROM;
      function tick() {
        if (left === 0) {
          countdown.textContent = "";
          resolve();
          return;
        }
        countdown.textContent = String(left);
        left -= 1;
        setTimeout(tick, 1000);
      }
      tick();
    });
  }

  // Step 2: the countdown, then the capture the server paces. The camera is opened afresh for it, so the recording
  // starts with the capture.
  async function recordCapture() {
    buttonsShow();
    step("record");
    say("Get ready\u2026");
    await countDown();
    stopPreview();
    const stream = await openCamera();
    if (!stream) {
      refuse(new Refusal("The camera and microphone could not be opened again."));
      return;
    }
    preview.srcObject = stream;
    stage.hidden = false;
    // The recording starts once the camera delivers pictures again: a camera still waking up would hold the first
    // chunks back, and the server reads held-back chunks as a stream that was not live.
    await new Promise((resolve) => {
      if (preview.readyState >= 2) resolve();
      preview.addEventListener("loadeddata", resolve, {once: true});
      setTimeout(resolve, 2000);
    });
    let capture;
    try {
      capture = await post(capturesUrl, "{}", "application/json");
    } catch (error) {
      stream.getTracks().forEach((track) => track.stop());
      refuse(error);
      return;
    }
    const mimeType = RECORDER_TYPES.find((type) => MediaRecorder.isTypeSupported(type));
    const recorder = new MediaRecorder(stream, mimeType ? {mimeType: mimeType} : {});
    const chunkType = (recorder.mimeType || mimeType || "video/webm").split(";")[0];
    const chunksUrl = new URL(capture.chunks_url, window.location.href);
    const queue = [], shown = new Set(), kept = [];
    let sequence = 0, sending = false, live = true, failure = null, began = 0;
    let finished;
    const allSent = new Promise((resolve) => { finished = resolve; });

    function stop() {
      if (recorder.state !== "inactive") recorder.stop();
    }

    function onAnswer(answer) {
      for (const revealed of answer.prompts || []) {
        if (shown.has(revealed.id)) continue;
        shown.add(revealed.id);
        showRevealed(revealed);
        if (revealed.kind === "done") stop();
      }
      if (answer.done) stop();
    }

    // One chunk in flight at a time, in the order recorded: the server reads the stream's pace from their arrivals.
    async function sendQueued() {
      if (sending) return;
      sending = true;
      while (queue.length && !failure) {
        const chunk = queue.shift();
        try {
          onAnswer(await post(new URL(sequence + "/", chunksUrl), chunk, chunkType));
          sequence += 1;
        } catch (error) {
          failure = error;
          stop();
        }
      }
      sending = false;
      if (failure || !live) finished();
    }

    recorder.ondataavailable = function (event) {
      if (event.data && event.data.size) {
        queue.push(event.data);
        kept.push(event.data);
      }
      sendQueued();
    };
    recorder.onstop = function () {
      live = false;
      stream.getTracks().forEach((track) => track.stop());
      preview.srcObject = null;
      stage.hidden = true;
      sendQueued();
    };
    const ticker = setInterval(function () {
      const elapsed = (performance.now() - began) / 1000;
      progress.value = Math.min(elapsed, progress.max);
      if (elapsed > LONGEST_S) stop();
    }, 200);
    began = performance.now();
    progress.value = 0;
    progress.hidden = false;
    say("Recording: look at the screen and follow what it asks.");
    showPrompt("", "Look at the screen");
    recorder.start(capture.timeslice_ms || 250);
    await allSent;
    clearInterval(ticker);
    progress.hidden = true;
    if (failure) {
      refuse(failure);
      return;
    }
    // Step 3: the person may watch what was recorded before it is checked.
    prompt.replaceChildren();
    recording = {capture: capture, blob: new Blob(kept, {type: chunkType})};
    playback.src = URL.createObjectURL(recording.blob);
    review.hidden = false;
    step("review");
    say("Recorded. Watch it if you like, then send it for the check, or record again.");
    buttonsShow(send, rerecord);
    send.focus();
  }

  async function sendCapture() {
    if (!recording) return;
    const capture = recording.capture;
    buttonsShow();
    say("Checking your live video\u2026");
    try {
      await post(new URL(capture.finish_url, window.location.href), JSON.stringify(finishFields()), "application/json");
      reviewClear();
      succeed();
    } catch (error) {
      refuse(error);
    }
  }

  section.hidden = false;
  // The recorded-video form stays on the page, folded away, for a person whose camera cannot stream.
  if (fallback) fallback.open = false;
  start.addEventListener("click", frame);
  retry.addEventListener("click", frame);
  rerecord.addEventListener("click", frame);
  record.addEventListener("click", recordCapture);
  send.addEventListener("click", sendCapture);
})();
