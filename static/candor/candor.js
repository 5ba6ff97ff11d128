/* Candor's progressive enhancement: drag-and-drop, photo preview, upload progress, live render status, voice lists,
   the first-second preview shown in place.
   Every page works without it: forms post normally and pages with running renders refresh themselves. */
"use strict";

(function () {
  const FINISHED = ["done", "failed", "cancelled"];
  const POLL_MS = 1000;
  let pollers = [];
  let swapped = false;

  function dropzones(root) {
    const zones = root.querySelectorAll("[data-dropzone]");
    zones.forEach(function (zone) {
      const input = zone.querySelector("input[type=file]");
      zone.addEventListener("dragover", function (event) {
        event.preventDefault();
        zone.classList.add("over");
      });
      zone.addEventListener("dragleave", function () {
        zone.classList.remove("over");
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        zone.classList.remove("over");
        if (event.dataTransfer.files.length) {
          input.files = event.dataTransfer.files;
          input.dispatchEvent(new Event("change", { bubbles: true }));
        }
      });
      const preview = zone.querySelector("[data-preview]");
      if (preview) {
        input.addEventListener("change", function () {
          const file = input.files[0];
          if (file && file.type.startsWith("image/")) {
            preview.src = URL.createObjectURL(file);
            preview.hidden = false;
          } else {
            preview.hidden = true;
          }
        });
      }
    });
  }

  // A file dropped beside a drop zone would make the browser leave the page (and the form) to open it.
  function guardWindowDrops() {
    ["dragover", "drop"].forEach(function (name) {
      window.addEventListener(name, function (event) {
        const inside = event.target.closest && event.target.closest("[data-dropzone], input[type=file]");
        if (document.querySelector("[data-dropzone]") && !inside) {
          event.preventDefault();
        }
      });
    });
  }

  function uploadsWithProgress(root) {
    root.querySelectorAll("form[data-upload]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (event.submitter && event.submitter.hasAttribute("data-preview-button")) {
          preview(form, event.submitter);
          return;
        }
        const bar = form.querySelector("[data-upload-progress]");
        const button = form.querySelector("button[type=submit]");
        const request = new XMLHttpRequest();
        request.open("POST", form.action);
        request.responseType = "document";
        request.upload.addEventListener("progress", function (progress) {
          if (bar && progress.lengthComputable) {
            bar.hidden = false;
            bar.value = Math.round((100 * progress.loaded) / progress.total);
          }
        });
        const chosen = chosenFiles(form);
        request.addEventListener("load", function () {
          if (request.response && request.response.body) {
            swapPage(request.response, request.responseURL);
            if (request.status >= 400) {
              keepFiles(chosen);
            }
          } else {
            failed(form, button, "The server answered " + request.status + "; please try again.");
          }
        });
        request.addEventListener("error", function () {
          failed(form, button, "The upload did not reach the server; check the connection and try again.");
        });
        if (button) {
          button.disabled = true;
        }
        request.send(new FormData(form));
      });
    });
  }

  function chosenFiles(form) {
    return Array.from(form.querySelectorAll("input[type=file]"))
      .filter(function (input) {
        return input.files.length > 0;
      })
      .map(function (input) {
        return { name: input.name, files: input.files };
      });
  }

  // A refused upload comes back as the form with its errors: the files chosen go back into it, so nothing is
  // chosen twice (a page loaded without this script says to choose the file again).
  function keepFiles(chosen) {
    chosen.forEach(function (kept) {
      const input = document.querySelector('form[data-upload] input[type=file][name="' + kept.name + '"]');
      if (input) {
        input.files = kept.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }

  // Type and size are checked before anything is sent, against the rules the server renders into the input (the
  // server checks again, and decides).
  function fileChecks(root) {
    root.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
      const note = input.parentElement.querySelector("[data-file-check]");
      input.addEventListener("change", function () {
        const file = input.files[0];
        let message = "";
        if (file && input.accept.split(",").indexOf(file.type) < 0) {
          message = file.name + " is not a " + input.dataset.typeNames + " image; choose a photo in one of those formats.";
        } else if (file && file.size > Number(input.dataset.maxBytes)) {
          message = file.name + " is " + (file.size / 1e6).toFixed(1) + " MB; at most " + input.dataset.maxSize + " is accepted.";
        }
        input.setCustomValidity(message);
        if (note) {
          note.textContent = message;
          note.hidden = !message;
        }
      });
    });
  }

  // The server answers a preview with the whole page; only its preview section is taken, so the form keeps its files.
  function preview(form, button) {
    const result = form.querySelector("[data-preview-result]");
    const show = function (section) {
      result.replaceChildren.apply(result, Array.from(section.childNodes));
      button.disabled = false;
    };
    const note = function (message) {
      const section = document.createElement("div");
      section.innerHTML = '<p class="error" role="alert"></p>';
      section.firstChild.textContent = message;
      show(section);
    };
    button.disabled = true;
    result.innerHTML = '<p role="status">Making the first second…</p>';
    fetch(button.formAction, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        return response.text();
      })
      .then(function (html) {
        const section = new DOMParser().parseFromString(html, "text/html").querySelector("[data-preview-result]");
        if (section) {
          show(section);
        } else {
          note("The preview could not be made; please try again.");
        }
      })
      .catch(function () {
        note("The preview request did not reach the server; check the connection and try again.");
      });
  }

  function failed(form, button, message) {
    const note = document.createElement("p");
    note.className = "error";
    note.setAttribute("role", "alert");
    note.textContent = message;
    form.prepend(note);
    if (button) {
      button.disabled = false;
    }
  }

  // The answer to an upload is a whole page (the next step, or the form with its errors): show it as if navigated to.
  function swapPage(page, url) {
    pollers.forEach(clearInterval);
    pollers = [];
    document.title = page.title;
    document.body.replaceWith(document.adoptNode(page.body));
    if (url && url !== window.location.href) {
      window.history.pushState(null, "", url);
      swapped = true;
    }
    window.scrollTo(0, 0);
    init(document);
  }

  function watchRenders(root) {
    root.querySelectorAll("[data-status-url]").forEach(function (box) {
      if (FINISHED.includes(box.dataset.status)) {
        return;
      }
      const timer = setInterval(function () {
        fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (response) {
            return response.ok ? response.json() : null;
          })
          .then(function (state) {
            if (!state) {
              return;
            }
            showStatus(box, state);
            if (state.finished) {
              clearInterval(timer);
              // The server renders the player, download links and reasons: fetch the page again once.
              window.location.reload();
            }
          })
          // A missed poll (a server restart, a dropped connection) is retried on the next tick.
          .catch(function () {});
      }, POLL_MS);
      pollers.push(timer);
    });
  }

  function showStatus(box, state) {
    const badge = box.querySelector("[data-role=status]");
    badge.textContent = state.status;
    badge.className = "badge " + state.status;
    const bar = box.querySelector("[data-role=progress]");
    if (bar) {
      bar.value = state.percent;
      bar.textContent = state.percent + "%";
    }
    const percent = box.querySelector("[data-role=percent]");
    if (percent) {
      percent.textContent = state.percent + "%";
    }
  }

  function speechSource(root) {
    const radios = root.querySelectorAll("input[name=source]");
    if (!radios.length) {
      return;
    }
    function show() {
      const chosen = root.querySelector("input[name=source]:checked");
      root.querySelectorAll("[data-source]").forEach(function (section) {
        section.hidden = chosen && section.dataset.source !== chosen.value;
      });
    }
    radios.forEach(function (radio) {
      radio.addEventListener("change", show);
    });
    show();
  }

  function voiceLists(root) {
    // Each voice list follows the language chosen beside it: the New video form's, or its own localization row's.
    root.querySelectorAll("[data-voices-url]").forEach(function (voice) {
      const scope = voice.closest("[data-voice-scope]") || voice.form;
      const language = scope && scope.querySelector("select[name$=language]");
      if (language) {
        voiceList(voice, language);
      }
    });
  }

  function voiceList(voice, language) {
    language.addEventListener("change", function () {
      fetch(voice.dataset.voicesUrl.replace("/xx/", "/" + encodeURIComponent(language.value) + "/"), { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (answer) {
          if (!answer) {
            return;
          }
          const chosen = voice.value;
          voice.replaceChildren.apply(voice, answer.voices.map(function (choice) {
            const option = new Option(choice.label, choice.value, false, choice.value === chosen);
            option.dataset.gender = choice.gender;
            option.dataset.sample = choice.sample_url;
            return option;
          }));
          voice.dispatchEvent(new Event("voices-changed"));
        })
        // The previous list stays if the request fails; its first choice, the default voice, fits any language.
        .catch(function () {});
    });
  }

  // An option is shown unless the consent's scope leaves it out (data-out-of-scope) or a filter does
  // (data-filtered-out); hidden options are disabled too, so that no keyboard or old browser can pick them.
  function optionShow(option) {
    const shown = !option.dataset.outOfScope && !option.dataset.filteredOut;
    option.hidden = !shown;
    option.disabled = !shown;
  }

  function selectFirstShown(select) {
    const current = select.options[select.selectedIndex];
    if (current && !current.hidden) {
      return;
    }
    const first = Array.prototype.find.call(select.options, function (option) { return !option.hidden; });
    if (first) {
      select.value = first.value;
      select.dispatchEvent(new Event("change"));
    }
  }

  // The purposes and languages offered follow the chosen portrait's consent (scopes from #consent-scopes).
  function consentScopes(root) {
    const data = root.querySelector("#consent-scopes");
    const form = data && data.closest("form");
    const portrait = form && form.querySelector("select[name=portrait]");
    if (!portrait) {
      return;
    }
    const scopes = JSON.parse(data.textContent);
    function apply() {
      const scope = scopes[portrait.value];
      if (!scope) {
        return;
      }
      form.querySelectorAll("select[data-scope]").forEach(function (select) {
        const allowed = scope[select.dataset.scope];
        Array.prototype.forEach.call(select.options, function (option) {
          const inScope = !option.value || allowed.indexOf("any") >= 0 || allowed.indexOf(option.value) >= 0;
          if (inScope) {
            delete option.dataset.outOfScope;
          } else {
            option.dataset.outOfScope = "1";
          }
          optionShow(option);
        });
        selectFirstShown(select);
      });
    }
    portrait.addEventListener("change", apply);
    // The server already rendered the chosen portrait's scope; marking it lets the filters keep it.
    apply();
  }

  // A search box that narrows a long select (the languages) to the options whose name contains what is typed.
  function optionFilters(root) {
    root.querySelectorAll("[data-filter-for]").forEach(function (input) {
      const select = document.getElementById(input.dataset.filterFor);
      if (!select) {
        return;
      }
      input.closest("[data-filter-row]").hidden = false;
      input.addEventListener("input", function () {
        const wanted = input.value.trim().toLowerCase();
        Array.prototype.forEach.call(select.options, function (option) {
          if (!wanted || option.text.toLowerCase().indexOf(wanted) >= 0) {
            delete option.dataset.filteredOut;
          } else {
            option.dataset.filteredOut = "1";
          }
          optionShow(option);
        });
        selectFirstShown(select);
      });
    });
  }

  // The voice list's gender filter, and a play button that plays the chosen voice's cached sample.
  function voicePickers(root) {
    root.querySelectorAll("[data-gender-filter]").forEach(function (filter) {
      const select = document.getElementById(filter.dataset.genderFilter);
      filter.closest("[data-filter-row]").hidden = false;
      function apply() {
        Array.prototype.forEach.call(select.options, function (option) {
          // The default voice ("") stays: it is always a valid choice.
          if (!filter.value || !option.value || option.dataset.gender === filter.value) {
            delete option.dataset.filteredOut;
          } else {
            option.dataset.filteredOut = "1";
          }
          optionShow(option);
        });
        selectFirstShown(select);
      }
      filter.addEventListener("change", apply);
      select.addEventListener("voices-changed", apply);
    });
    root.querySelectorAll("[data-voice-play]").forEach(function (button) {
      const select = document.getElementById(button.dataset.voicePlay);
      const audio = button.parentElement.querySelector("[data-voice-audio]");
      button.hidden = false;
      button.addEventListener("click", function () {
        const option = select.options[select.selectedIndex];
        if (!option || !option.dataset.sample) {
          return;
        }
        audio.src = option.dataset.sample;
        audio.play().catch(function () {});
      });
    });
  }

  // A search box over a long list of checkboxes (the languages of a consent request); ticked ones always stay.
  function checkboxFilters(root) {
    root.querySelectorAll("[data-filter-checkboxes]").forEach(function (input) {
      const list = document.getElementById(input.dataset.filterCheckboxes);
      input.closest("[data-filter-row]").hidden = false;
      input.addEventListener("input", function () {
        const wanted = input.value.trim().toLowerCase();
        list.querySelectorAll(".check").forEach(function (row) {
          const box = row.querySelector("input");
          row.hidden = Boolean(wanted) && !box.checked && row.textContent.toLowerCase().indexOf(wanted) < 0;
        });
      });
    });
  }

  // Copy buttons: the text of the field they name goes to the clipboard, and the page says so.
  function copyButtons(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      const field = document.getElementById(button.dataset.copy);
      const status = button.closest(".field").querySelector("[data-copy-status]");
      if (!navigator.clipboard) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(
          function () { status.textContent = "Link copied."; },
          function () { field.select(); status.textContent = "Copying was refused: the link is selected, copy it yourself."; }
        );
      });
    });
  }

  // A script box's live count: characters of the maximum, and about how long it takes to say.
  function textCounts(root) {
    root.querySelectorAll("[data-text-count]").forEach(function (box) {
      const out = document.getElementById(box.dataset.textCount);
      const perMinute = Number(box.dataset.wordsPerMinute);
      function update() {
        const words = box.value.trim() ? box.value.trim().split(/\s+/).length : 0;
        const seconds = Math.ceil(words * 60 / perMinute);
        out.textContent = box.value.length + " of " + box.maxLength + " characters, about " + seconds + " s spoken.";
      }
      box.addEventListener("input", update);
    });
  }

  function confirmations(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) {
          event.preventDefault();
        }
      });
    });
    root.querySelectorAll("[data-select-on-focus]").forEach(function (field) {
      field.addEventListener("focus", function () {
        field.select();
      });
    });
  }

  // On a narrow screen the main menu folds behind one button (the CSS shows the button only there); without
  // JavaScript the links stay listed.
  function compactMenu() {
    const toggle = document.querySelector("[data-menu-toggle]");
    const nav = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (!nav) {
      return;
    }
    document.documentElement.classList.add("js-menu");
    toggle.addEventListener("click", function () {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && nav.classList.contains("open")) {
        toggle.click();
        toggle.focus();
      }
    });
  }

  function init(root) {
    dropzones(root);
    fileChecks(root);
    uploadsWithProgress(root);
    watchRenders(root);
    speechSource(root);
    voiceLists(root);
    consentScopes(root);
    optionFilters(root);
    voicePickers(root);
    textCounts(root);
    checkboxFilters(root);
    copyButtons(root);
    confirmations(root);
  }

  // Pages shown by swapPage have no history entry of their own: going back loads the address afresh.
  window.addEventListener("popstate", function () {
    if (swapped) {
      window.location.reload();
    }
  });
  guardWindowDrops();
  compactMenu();
  init(document);
})();
