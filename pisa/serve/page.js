// pisa serve's page: upload a recording to POST /assess and draw the answer (the record
// `pisa predict --json` prints): the level with its interval and confidence, the timeline
// of segments, the probabilities and, when the record has notes, the piano roll.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const server = { tokenRequired: false, maxBytes: 0 };

function token() { return $("token").value.trim(); }

function authHeaders() {
  return server.tokenRequired && token() ? { Authorization: "Bearer " + token() } : {};
}

function setStatus(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

function clock(seconds) {
  if (!isFinite(seconds)) return "--:--";
  const m = Math.floor(seconds / 60);
  const s = seconds - 60 * m;
  return String(m).padStart(2, "0") + ":" + s.toFixed(2).padStart(5, "0");
}

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function niceStep(span, count) {
  const raw = span / Math.max(count, 1);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

// An SVG plot frame: x in seconds [0, x1], y in [y0, y1]; returns the svg and scales. It is
// drawn at the container's own width in pixels, so its text reads the same on a phone.
function frame(container, x1, y0, y1, tallest, yTicks, yLabel) {
  const W = Math.min(Math.max(Math.round(container.clientWidth) || 800, 280), 1200);
  const height = Math.round(Math.min(tallest, Math.max(170, 0.6 * W)));
  const left = 46, right = 12, top = 10, bottom = 30;
  const svg = el("svg", { viewBox: `0 0 ${W} ${height}`, role: "img" });
  const sx = (t) => left + (W - left - right) * (x1 > 0 ? t / x1 : 0);
  const sy = (v) => top + (height - top - bottom) * (1 - (v - y0) / (y1 - y0 || 1));
  el("rect", { x: left, y: top, width: W - left - right, height: height - top - bottom,
               fill: "#fafbfc", stroke: "#d5dbe1" }, svg);
  for (const v of yTicks) {
    el("line", { x1: left, x2: W - right, y1: sy(v), y2: sy(v), stroke: "#eceff2" }, svg);
    el("text", { x: left - 6, y: sy(v) + 4, "text-anchor": "end" }, svg).textContent = String(v);
  }
  const step = niceStep(x1, Math.max(3, Math.floor(W / 110)));
  for (let t = 0; t <= x1 + 1e-9; t += step) {
    el("line", { x1: sx(t), x2: sx(t), y1: height - bottom, y2: height - bottom + 4, stroke: "#8a939c" }, svg);
    el("text", { x: sx(t), y: height - bottom + 16, "text-anchor": "middle" }, svg).textContent =
      (Math.round(t * 100) / 100) + " s";
  }
  const label = el("text", { x: 12, y: top + (height - top - bottom) / 2, "text-anchor": "middle",
                             transform: `rotate(-90 12 ${top + (height - top - bottom) / 2})` }, svg);
  label.textContent = yLabel;
  container.replaceChildren(svg);
  return { svg, sx, sy };
}

// The recording's length in seconds: the time axis the timeline and the piano roll share.
function recordingEnd(rec) {
  const segs = rec.segments || [];
  const notes = (rec.evidence && rec.evidence.notes && rec.evidence.notes.events) || [];
  const ends = [rec.num_frames / rec.fps, segs.length ? segs[segs.length - 1].end_s : 0,
                ...notes.map((e) => e[1])].filter((v) => isFinite(v));
  return Math.max(...ends, 1e-3);
}

function drawTimeline(rec) {
  const segs = rec.segments || [];
  const classes = (rec.probs || []).length;
  const end = recordingEnd(rec);
  const regs = segs.map((s) => s.regression).filter((v) => v !== null && isFinite(v));
  let y0, y1, ticks;
  if (classes) {
    y0 = Math.min(0.5, ...regs.map((v) => v - 0.5));
    y1 = Math.max(classes + 0.5, ...regs.map((v) => v + 0.5));
    const every = classes > 12 ? Math.ceil(classes / 10) : 1;
    ticks = [];
    for (let v = 1; v <= classes; v += every) ticks.push(v);
  } else {
    const all = regs.concat([rec.score]).filter((v) => v !== null && isFinite(v));
    y0 = Math.min(...all, 0); y1 = Math.max(...all, 1);
    const step = niceStep(y1 - y0, 5);
    ticks = [];
    for (let v = Math.ceil(y0 / step) * step; v <= y1; v += step) ticks.push(Math.round(v * 100) / 100);
  }
  const { svg, sx, sy } = frame($("timeline"), end, y0, y1, 240, ticks, classes ? "level" : "score");
  if (classes) {
    for (const s of segs) {
      const conf = s.confidence === null ? 1 : s.confidence;
      const bar = el("rect", { x: sx(s.start_s) + 0.5, width: Math.max(sx(s.end_s) - sx(s.start_s) - 1, 1),
                               y: sy(s.level), height: Math.max(sy(y0) - sy(s.level), 0),
                               fill: "#1f6fb2", "fill-opacity": (0.2 + 0.8 * conf).toFixed(3),
                               class: "segment" }, svg);
      el("title", {}, bar).textContent =
        `${clock(s.start_s)}-${clock(s.end_s)}: level ${s.level}, confidence ${conf.toFixed(2)}`;
    }
    el("line", { x1: sx(0), x2: sx(end), y1: sy(rec.level), y2: sy(rec.level), stroke: "#1d232b",
                 "stroke-dasharray": "6 4", "stroke-width": 1.5 }, svg);
  }
  const points = segs.filter((s) => s.regression !== null)
    .map((s) => `${sx((s.start_s + s.end_s) / 2).toFixed(1)},${sy(s.regression).toFixed(1)}`);
  if (points.length) {
    el("polyline", { points: points.join(" "), fill: "none", stroke: "#e07b1a", "stroke-width": 2 }, svg);
    for (const p of points) {
      const [x, y] = p.split(",");
      el("circle", { cx: x, cy: y, r: 3, fill: "#e07b1a" }, svg);
    }
  }
}

function drawProbs(rec) {
  const list = $("probs");
  list.replaceChildren();
  const probs = rec.probs || [];
  $("probs-title").hidden = !probs.length;
  const [lo, hi] = rec.interval || [0, -1];
  probs.forEach((p, i) => {
    const level = i + 1;
    const li = document.createElement("li");
    if (level >= lo && level <= hi) li.classList.add("in-interval");
    if (level === rec.level) li.classList.add("chosen");
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = "level " + level;
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.display = "block";
    fill.style.width = (100 * p).toFixed(1) + "%";
    track.appendChild(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = p.toFixed(3);
    li.append(label, track, value);
    list.appendChild(li);
  });
}

function drawNotes(rec) {
  const notes = rec.evidence && rec.evidence.notes;
  $("notes").hidden = !notes;
  if (!notes) return;
  const events = notes.events || [];
  const end = recordingEnd(rec);
  const pitches = events.map((e) => e[2]);
  const p0 = (pitches.length ? Math.min(...pitches) : 60) - 2;
  const p1 = (pitches.length ? Math.max(...pitches) : 72) + 2;
  const ticks = [];
  for (let v = Math.ceil(p0 / 12) * 12; v <= p1; v += 12) ticks.push(v);
  const { svg, sx, sy } = frame($("roll"), end, p0, p1, 220, ticks, "MIDI pitch");
  const h = Math.max(Math.abs(sy(0) - sy(1)) * 0.8, 1.5);
  for (const [on, off, pitch, velocity] of events) {
    el("rect", { x: sx(on), y: sy(pitch) - h / 2, width: Math.max(sx(off) - sx(on), 1), height: h,
                 fill: "#1d232b", "fill-opacity": (0.3 + 0.7 * Math.min(Math.max(velocity, 0), 1)).toFixed(3),
                 class: "note" }, svg);
  }
  $("notes-about").textContent = `${notes.count} notes (${notes.transcriber || "transcribed"})`;
}

let shown = null;  // the record on the page, drawn again when the width changes

function render(rec) {
  shown = rec;
  const isScore = rec.score !== null && rec.score !== undefined;
  $("what").textContent = isScore ? "Score" : "Level";
  $("level").textContent = isScore ? rec.score.toFixed(2) : String(rec.level);
  $("interval").textContent = rec.interval ? `${rec.interval[0]}–${rec.interval[1]}` : "–";
  $("confidence").textContent = rec.confidence === null || rec.confidence === undefined
    ? "–" : rec.confidence.toFixed(2);
  $("regression").textContent = rec.regression === null ? "–" : rec.regression.toFixed(2);
  $("decision").textContent = rec.decision
    ? `${rec.decision}, T ${Number(rec.temperature).toFixed(3)}` : "none (a score model)";
  const members = rec.members > 1 ? `, an ensemble of ${rec.members}` : "";
  $("about").textContent = `${rec.media}: ${rec.num_samples} samples by ${rec.sampler}; ` +
    `${(rec.segments || []).length} segments of ${rec.frames_per_segment} frames at ` +
    `${Number(rec.fps).toFixed(2)} fps${members}`;
  $("result").hidden = false;
  drawTimeline(rec);
  drawProbs(rec);
  drawNotes(rec);
}

async function assess(file) {
  if (!file) return;
  if (server.maxBytes && file.size > server.maxBytes) {
    setStatus(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB, over this server's limit of ` +
              `${(server.maxBytes / 1e6).toFixed(1)} MB`, true);
    return;
  }
  if (server.tokenRequired && !token()) {
    setStatus("this server asks for its token: enter it above", true);
    $("token").focus();
    return;
  }
  const form = new FormData();
  form.append("file", file, file.name);
  if ($("crop").value.trim()) form.append("crop", $("crop").value.trim());
  if ($("meta").value.trim()) form.append("meta", $("meta").value.trim());
  document.body.dataset.state = "busy";
  setStatus(`assessing ${file.name} …`, false);
  const started = performance.now();
  try {
    const response = await fetch("/assess", { method: "POST", body: form, headers: authHeaders() });
    let answer;
    try { answer = await response.json(); } catch (e) { answer = { error: response.statusText }; }
    if (!response.ok) {
      setStatus(`${response.status}: ${answer.error || response.statusText}`, true);
      document.body.dataset.state = "error";
      return;
    }
    render(answer);
    setStatus(`${file.name} assessed in ${((performance.now() - started) / 1000).toFixed(1)} s`, false);
    document.body.dataset.state = "done";
  } catch (err) {
    setStatus(`the request failed: ${err.message}`, true);
    document.body.dataset.state = "error";
  }
}

async function describeModel() {
  const line = $("model-line");
  try {
    const response = await fetch("/model", { headers: authHeaders() });
    const info = await response.json();
    if (!response.ok) {
      line.textContent = response.status === 401 ? "Enter the token to see the model." : info.error;
      return;
    }
    const name = (path) => String(path).split("/").pop();
    const task = info.task === "level" ? `levels 1..${info.num_classes}` : "a score";
    line.textContent = `${name(info.config)} · ${name(info.checkpoint)} · ${task} · ` +
      `modalities ${info.modalities.join(", ")}` + (info.decision ? ` · ${info.decision}` : "");
  } catch (err) {
    line.textContent = "The model's description could not be read: " + err.message;
  }
}

async function start() {
  try {
    const health = await (await fetch("/health")).json();
    server.tokenRequired = !!health.token_required;
    server.maxBytes = health.max_upload_bytes || 0;
  } catch (err) {
    setStatus("the server does not answer: " + err.message, true);
  }
  $("token-row").hidden = !server.tokenRequired;
  $("token").value = sessionStorage.getItem("pisa-token") || "";
  if (server.maxBytes) $("limit").textContent = `up to ${(server.maxBytes / 1e6).toFixed(0)} MB`;
  describeModel();
  $("token").addEventListener("change", () => {
    sessionStorage.setItem("pisa-token", token());
    describeModel();
  });
  $("file").addEventListener("change", () => {
    const file = $("file").files[0];
    $("file").value = "";  // choosing the same file again assesses it again
    assess(file);
  });
  const drop = $("drop");
  for (const kind of ["dragenter", "dragover"]) {
    drop.addEventListener(kind, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const kind of ["dragleave", "drop"]) {
    drop.addEventListener(kind, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  }
  drop.addEventListener("drop", (e) => assess(e.dataTransfer.files[0]));
  let width = window.innerWidth;
  window.addEventListener("resize", () => {
    if (shown && window.innerWidth !== width) {
      width = window.innerWidth;
      drawTimeline(shown);
      drawNotes(shown);
    }
  });
  document.body.dataset.state = "ready";
}

start();
