// A call's recording (templates/calls/_recording.html): skip buttons and a speed choice for the audio player,
// and window.qaRecording (toggle, skip) for the review workspace's keyboard shortcuts.
(function () {
  "use strict";

  function player() {
    var figure = document.querySelector("[data-recording]");
    return figure ? figure.querySelector("audio") : null;
  }

  function skip(seconds) {
    var audio = player();
    if (!audio) return false;
    var end = isFinite(audio.duration) ? audio.duration : Infinity;
    audio.currentTime = Math.min(Math.max(audio.currentTime + seconds, 0), end);
    return true;
  }

  function toggle() {
    var audio = player();
    if (!audio) return false;
    if (audio.paused) {
      var playing = audio.play();
      if (playing && playing.catch) playing.catch(function () {});  // no audio output: the controls say so
    } else {
      audio.pause();
    }
    return true;
  }

  document.querySelectorAll("[data-recording]").forEach(function (figure) {
    var audio = figure.querySelector("audio");
    figure.querySelectorAll("[data-skip]").forEach(function (button) {
      button.addEventListener("click", function () {
        skip(Number(button.getAttribute("data-skip")));
      });
    });
    var speed = figure.querySelector("[data-speed]");
    if (speed) {
      speed.addEventListener("change", function () {
        audio.playbackRate = Number(speed.value);
      });
      // The player's own menu can change the speed too: keep the choice showing it.
      audio.addEventListener("ratechange", function () {
        var value = String(audio.playbackRate);
        if (speed.querySelector('option[value="' + value + '"]')) speed.value = value;
      });
    }
  });

  // A transcript whose lines carry their time in the call (the review workspace): ▶ plays from a line, and the
  // line being heard is marked while the recording plays.
  var audio = player();
  var seeks = Array.prototype.slice.call(document.querySelectorAll("[data-seek]"));
  if (audio && seeks.length) {
    seeks.forEach(function (button) {
      button.addEventListener("click", function () {
        audio.currentTime = Number(button.getAttribute("data-seek"));
        if (audio.paused) toggle();
      });
    });
    var marked = null;
    audio.addEventListener("timeupdate", function () {
      var heard = null;
      seeks.forEach(function (button) {
        if (Number(button.getAttribute("data-seek")) <= audio.currentTime) heard = button.closest("li");
      });
      if (heard === marked) return;
      if (marked) marked.classList.remove("is-playing");
      if (heard) heard.classList.add("is-playing");
      marked = heard;
    });
  }

  window.qaRecording = { toggle: toggle, skip: skip };
})();
