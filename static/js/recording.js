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

  window.qaRecording = { toggle: toggle, skip: skip };
})();
