// viewer.js - draws a run's timeline (the JSON in #data, written by
// test-scripts/timeline.py): one column per peer, time flowing down, RPC
// arrows between columns, crash/partition/leader bands, start/apply/term
// marks, client operations, LABLOG lines and the failed check. Only the
// chosen time window is drawn (capped), so big records open quickly.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const OUTCOMES = ["delivered", "request lost", "reply lost",
    "no reply (server killed or cut off)", "not sent (no server reachable)",
    "in flight at the failure"];
  const MAX_RPCS = 3000, MAX_MARKS = 3000, GUTTER = 70, TOP = 16;
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;")
    .replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const fmt = (t) => (Math.round(t * 10) / 10).toString();
  // An even sample of n items of list (all of them if they fit).
  const sample = (list, n) => {
    if (list.length <= n) return list;
    const step = list.length / n, res = [];
    for (let i = 0; i < n; i++) res.push(list[Math.floor(i * step)]);
    return res;
  };

  const st = {
    w0: 0, w1: 0, scale: 1, hiddenLanes: new Set(), hiddenMethods: new Set(),
    onlyLost: false, showLog: true, showNoStart: false, search: null,
  };

  function defaultWindow() {
    const end = D.fail ? D.fail.t : D.t1;
    // A lab 1 test is short and every process matters: all of it.
    st.w0 = D.kind === "mr" ? D.t0 : Math.max(D.t0, end - 3000);
    // A busy run (a KV test applies thousands of entries a second): open
    // on the newest ~800 RPCs and marks, at least 100 ms, so the page is
    // quick to draw and readable; "all" and the window fields go further.
    const newest = (times) => {
      times.sort((a, b) => b - a);
      return times.length > 800 ? times[799] : -Infinity;
    };
    const busy = Math.min(newest(D.rpcs.filter((r) => r[0] <= end).map((r) => r[0])),
      newest(D.marks.filter((m) => m[0] <= end && m[2] !== "log").map((m) => m[0])));
    if (D.kind !== "mr" && busy > st.w0) st.w0 = Math.min(busy, end - 100);
    st.w1 = end + Math.max(50, (end - st.w0) * 0.03);
  }

  // A chosen window fits the screen; the default one gets ~2400 px.
  function fitScale(toScreen) {
    const span = Math.max(1, st.w1 - st.w0);
    const px = toScreen ? Math.max(300, window.innerHeight - $("top").offsetHeight - 60) : 2400;
    st.scale = Math.min(50, Math.max(0.005, px / span));
  }

  // ---- header -----------------------------------------------------------------
  function header() {
    $("title").textContent = D.title || "timeline";
    const meta = [];
    if (D.kind === "sim") meta.push("raftsim trace");
    if (D.seed) meta.push("seed " + D.seed);
    meta.push(D.lanes.length + " lanes, " + D.rpcs.length + " RPCs, " +
      D.marks.length + " marks, " + fmt(D.t1 - D.t0) + " ms recorded");
    $("meta").textContent = meta.join(" · ");
    let links = "";
    if (D.porcupine) links += '<a id="porcupine-link" href="' + esc(D.porcupine) +
      '">linearizability view (porcupine)</a>';
    if (D.replay) links += ' <code title="replay command">' + esc(D.replay) + "</code>";
    $("links").innerHTML = links;
    if (D.fail) {
      const f = $("failure");
      f.classList.remove("hidden");
      f.textContent = "FAILED at " + fmt(D.fail.t) + " ms: " + D.fail.msg;
      f.title = "click: show the failure";
      f.onclick = () => { defaultWindow(); fitScale(); draw(); scrollToFail(); };
    }
    if (D.truncated) {
      $("truncated").classList.remove("hidden");
      $("truncated").textContent = D.truncated;
    }
    const lf = $("lane-filter");
    D.lanes.forEach((name, i) => {
      lf.insertAdjacentHTML("beforeend", '<label><input type="checkbox" checked data-lane="' +
        i + '"> ' + esc(name) + "</label>");
    });
    const mf = $("method-filter");
    D.methods.forEach((name, i) => {
      mf.insertAdjacentHTML("beforeend", '<label><input type="checkbox" checked data-method="' +
        i + '"> ' + esc(name) + "</label>");
    });
    $("legend").innerHTML = [
      ["#3572b0", "RPC delivered (arrow: sent → reply back)"],
      ["#d33", "request or reply lost (×)"],
      ["#999", "no reply: server killed/cut off"],
      ["#bbb", "not sent: no server"],
      ["#e8b400", "leader"],
      ["#f6a23c", "partitioned / disconnected"],
      ["#888", "crashed (hatched)"],
      ["#2a8a2a", "apply (index)"],
      ["#1d5fb4", "start (index, term)"],
      ["#7a3db8", "client op"],
      ["#d00", "failed check"],
    ].concat(D.kind !== "mr" ? [] : [
      ["#5a9e5a", "process running (lab 1)"],
      ["#c00", "process crashed / killed (▼)"],
      ["#555", "file appeared (+) / removed (−)"],
    ]).map(([c, t]) => '<span><i style="background:' + c + '"></i>' + t + "</span>").join("");
  }

  // ---- drawing -------------------------------------------------------------------
  function visibleLanes() {
    const v = [];
    D.lanes.forEach((_, i) => { if (!st.hiddenLanes.has(i)) v.push(i); });
    return v;
  }

  // Hover texts are made on demand: a title element per arrow doubled the
  // page's nodes and its drawing time.
  let tips = [];
  const tipAttr = (f) => { tips.push(f); return ' data-t="' + (tips.length - 1) + '"'; };

  function draw() {
    const t0 = performance.now();
    tips = [];
    const lanes = visibleLanes();
    const width = Math.max(600, document.documentElement.clientWidth - 10);
    const laneW = Math.max(140, (width - GUTTER) / Math.max(1, lanes.length));
    const col = new Map();
    lanes.forEach((l, k) => col.set(l, GUTTER + k * laneW + laneW / 2));
    const y = (t) => TOP + (t - st.w0) * st.scale;
    const H = y(st.w1) + 30;
    const W = GUTTER + laneW * lanes.length + 10;
    const inWin = (t) => t >= st.w0 && t <= st.w1;
    const out = [];
    out.push('<svg id="svg" xmlns="http://www.w3.org/2000/svg" width="' + W +
      '" height="' + H + '"><defs>' +
      '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
      '<rect width="6" height="6" fill="#eee"/><line x1="0" y1="0" x2="0" y2="6" stroke="#aaa" stroke-width="2"/></pattern>' +
      '<marker id="ah0" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">' +
      '<path d="M0,0L10,5L0,10z" fill="#3572b0"/></marker>' +
      '<marker id="ah5" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">' +
      '<path d="M0,0L10,5L0,10z" fill="#a0a"/></marker></defs>');

    // time grid
    const target = 80 / st.scale;
    const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000];
    const step = steps.find((s) => s >= target) || 60000;
    for (let t = Math.ceil(st.w0 / step) * step; t <= st.w1; t += step) {
      out.push('<line class="grid" x1="0" x2="' + W + '" y1="' + y(t) + '" y2="' + y(t) + '"/>' +
        '<text class="gridlabel" x="2" y="' + (y(t) - 2) + '">' + fmt(t) + " ms</text>");
    }
    lanes.forEach((l) => {
      out.push('<line class="lane-axis" x1="' + col.get(l) + '" x2="' + col.get(l) + '" y1="' +
        TOP + '" y2="' + (H - 10) + '"/>');
    });

    // bands: crashed, cut off, leader
    let nb = 0;
    const bandText = new Map();
    const roomForBand = (l, yy) => {
      const prev = bandText.get(l);
      if (prev !== undefined && yy - prev < 12) return false;
      bandText.set(l, yy);
      return true;
    };
    for (const [l, b0, b1, kind, label] of D.bands) {
      if (!col.has(l) || b1 < st.w0 || b0 > st.w1) continue;
      const ya = y(Math.max(b0, st.w0)), yb = y(Math.min(b1, st.w1));
      const x = col.get(l);
      let rx, rw;
      if (kind === "leader" || kind === "run") { rx = x - 3; rw = 6; }
      else if (kind === "cut" || kind === "disc") { rx = x - laneW * 0.45; rw = laneW * 0.9; }
      else { rx = x - laneW * 0.4; rw = laneW * 0.8; }
      out.push('<rect class="band band-' + kind + '" data-lane="' + l + '" x="' + rx + '" y="' + ya +
        '" width="' + rw + '" height="' + Math.max(1, yb - ya) + '"><title>' + esc(label) + " " +
        fmt(b0) + "–" + fmt(b1) + " ms</title></rect>");
      const thin = kind === "leader" || kind === "run";
      if ((!thin || yb - ya > 30) && roomForBand(l + kind, ya))
        out.push('<text class="bandlabel" x="' + (thin ? x + 5 : rx + 3) + '" y="' +
          (ya + 11) + '">' + esc(label) + "</text>");
      nb++;
    }

    // global notes (network mode, partitions)
    for (const [t, text] of D.notes) {
      if (!inWin(t)) continue;
      out.push('<line class="note" x1="' + GUTTER + '" x2="' + W + '" y1="' + y(t) + '" y2="' + y(t) +
        '"/><text class="t-note" x="' + (W - 4) + '" text-anchor="end" y="' + (y(t) - 2) + '">' +
        esc(text) + "</text>");
    }

    // RPC arrows
    let rpcs = [];
    for (const r of D.rpcs) {
      if ((r[5] === 4 ? r[0] : r[1]) < st.w0 || r[0] > st.w1) continue;
      if (!col.has(r[2]) || !col.has(r[3]) || st.hiddenMethods.has(r[4])) continue;
      if (st.onlyLost && r[5] === 0) continue;
      rpcs.push(r);
    }
    let notice = "";
    if (rpcs.length > MAX_RPCS) {
      // Too many to draw: every failed one (up to half the budget), and an
      // even sample of the rest, so the whole window keeps its shape.
      const failed = sample(rpcs.filter((r) => r[5] !== 0), MAX_RPCS / 2);
      const good = sample(rpcs.filter((r) => r[5] === 0), MAX_RPCS - failed.length);
      notice = rpcs.length + " RPCs in this window: drawing " + (failed.length + good.length) +
        " (all failed ones up to " + MAX_RPCS / 2 + ", a sample of the rest); narrow the window, " +
        "or filter peers / RPC types / only lost";
      rpcs = failed.concat(good).sort((a, b) => a[0] - b[0]);
    }
    let nlost = 0;
    for (const [a, b, from, to, m, o, label] of rpcs) {
      const x1 = col.get(from), x2 = col.get(to);
      const y1 = y(a), y2 = y(b);
      const ta = tipAttr(() => D.methods[m] + " " + D.lanes[from] + " → " + D.lanes[to] + ", " +
        fmt(a) + "–" + fmt(b) + " ms: " + OUTCOMES[o] + (label ? " (" + label + ")" : ""));
      if (o === 4) {
        // never sent: a short stub towards the peer at the time of the call
        out.push('<line class="rpc o4"' + ta + ' x1="' + x1 + '" y1="' + y1 + '" x2="' + (x1 + (x2 - x1) * 0.2) +
          '" y2="' + y1 + '"/>');
        nlost++;
        continue;
      }
      if (o === 1 || o === 2) {
        // lost: the arrow stops at the loss, marked with a cross
        const xm = o === 1 ? (x1 + x2) / 2 : x2 - (x2 - x1) * 0.15;
        const ym = o === 1 ? (y1 + y2) / 2 : y2;
        out.push('<g class="rpc-lost"' + ta + '><line class="rpc o' + o + '" x1="' + x1 + '" y1="' + y1 +
          '" x2="' + xm + '" y2="' + ym + '"/><path class="lostx" d="M' + (xm - 4) + "," + (ym - 4) + "l8,8m0,-8l-8,8" +
          '"/></g>');
        nlost++;
      } else {
        const mk = o === 0 ? ' marker-end="url(#ah0)"' : o === 5 ? ' marker-end="url(#ah5)"' : "";
        out.push('<line class="rpc o' + o + '"' + ta + ' x1="' + x1 + '" y1="' + y1 + '" x2="' + x2 +
          '" y2="' + y2 + '"' + mk + "/>");
        if (o !== 0) nlost++;
      }
    }

    // marks; a label is drawn only if it does not overlap the previous one
    // in its lane (the mark itself always is; hover shows its text)
    // (a burst of labels at one time is stacked below it, up to 6 lines).
    const lastText = new Map();
    let textY = 0;
    const roomFor = (l, side, yy) => {
      const k = l + side, prev = lastText.get(k);
      textY = prev !== undefined && yy - prev < 11 ? prev + 11 : yy;
      if (textY - yy > 66) return false;
      lastText.set(k, textY);
      return true;
    };
    let nm = 0, nhits = 0, firstHit = null;
    const hits = [];
    let marks = [];
    for (const m of D.marks) {
      const [t, l, kind, index] = m;
      if (!col.has(l)) continue;
      const isHit = st.search !== null && index === st.search && (kind === "apply" || kind === "start");
      if (isHit) { nhits++; hits.push([t, l, kind]); if (firstHit === null) firstHit = t; }
      if (kind === "op" ? (t < st.w0 || t - m[4] * 1 > st.w1) : !inWin(t)) continue;
      if (kind === "log" && !st.showLog) continue;
      if (kind === "nostart" && !st.showNoStart) continue;
      marks.push(m);
    }
    if (marks.length > MAX_MARKS) {
      // Too many (applies, client operations and log lines of a busy KV
      // run): every other mark and search hit, an even sample of those.
      const dense = (m) => (m[2] === "apply" || m[2] === "op" || m[2] === "log") && m[3] !== st.search;
      const keep = marks.filter((m) => !dense(m));
      const some = sample(marks.filter(dense), Math.max(0, MAX_MARKS - keep.length));
      notice += (notice ? "; " : "") + marks.length + " marks in this window: drawing " +
        (keep.length + some.length) + " (a sample of the applies, operations and log lines)";
      marks = keep.concat(some).sort((a, b) => a[0] - b[0]);
    }
    for (const [t, l, kind, index, term, own] of marks) {
      // every peer applies the same command at an index: its text travels
      // once, in D.atext (timeline.py), unless this peer's differs
      const text = own !== undefined ? own : kind === "apply" && D.atext ? D.atext[index] || "" : "";
      const isHit = st.search !== null && index === st.search && (kind === "apply" || kind === "start");
      nm++;
      const x = col.get(l), yy = y(t);
      const ta = tipAttr(() => fmt(t) + " ms " + D.lanes[l] + ": " + kind + " " +
        (index ? "index " + index + " " : "") + (term ? "term " + term + " " : "") + text);
      const tip = "";
      if (kind === "apply") {
        out.push('<g class="mark mark-apply"' + ta + ' data-index="' + index + '"><circle cx="' + x + '" cy="' + yy +
          '" r="3"/>' + (roomFor(l, "r", yy) ? '<text class="t-apply" x="' + (x + 5) + '" y="' + (textY + 3) + '">a' + index +
          (term ? " T" + term : "") + (text ? " " + esc(text.slice(0, 12)) : "") + "</text>" : "") + tip + "</g>");
      } else if (kind === "start" || kind === "nostart") {
        out.push('<g class="mark mark-' + kind + '"' + ta + ' data-index="' + index + '"><rect x="' + (x - 3) + '" y="' +
          (yy - 3) + '" width="6" height="6" transform="rotate(45 ' + x + " " + yy + ')"/>' +
          (kind === "start" && roomFor(l, "l", yy) ? '<text class="t-start" text-anchor="end" x="' + (x - 6) + '" y="' + (textY + 3) +
            '">start ' + esc(text.slice(0, 10)) + " → i" + index + " T" + term + "</text>" : "") + tip + "</g>");
      } else if (kind === "term") {
        if (roomFor(l, "l", yy)) out.push('<text class="t-term"' + ta + ' x="' + (x - 6) + '" text-anchor="end" y="' + (textY + 3) + '">' +
          esc(text) + tip + "</text>");
      } else if (kind === "up") {
        out.push('<path class="mark-up"' + ta + ' d="M' + (x - 5) + "," + (yy + 4) + "l5,-8l5,8z" + '">' + tip + "</path>");
      } else if (kind === "op") {
        const ya = y(Math.max(st.w0, t - term));
        out.push('<g class="mark mark-op"' + ta + '><line class="mark-op" x1="' + x + '" x2="' + x + '" y1="' + ya +
          '" y2="' + Math.max(yy, ya + 2) + '"/>' + (roomFor(l, "r", yy) ? '<text class="t-op" x="' + (x + 5) +
          '" y="' + (textY + 3) + '">' + esc(text) + "</text>" : "") + tip + "</g>");
      } else if (kind === "exit" || kind === "crash") {
        // a lab 1 process ended: normally (grey) or not (red, labelled)
        out.push('<g class="mark mark-' + kind + '"' + ta + '><path d="M' + (x - 5) + "," + (yy - 4) + "l5,8l5,-8z" + '"/>' +
          (roomFor(l, "r", yy) ? '<text class="t-' + kind + '" x="' + (x + 7) + '" y="' + (textY + 3) + '">' +
            esc(text) + "</text>" : "") + "</g>");
      } else if (kind === "file" || kind === "gone") {
        // a file of a lab 1 test appeared (+) or went away (−)
        out.push('<g class="mark mark-' + kind + '"' + ta + '><rect x="' + (x - 2) + '" y="' + (yy - 2) +
          '" width="4" height="4"/>' + (roomFor(l, "r", yy) ? '<text class="t-' + kind + '" x="' + (x + 5) + '" y="' +
            (textY + 3) + '">' + (kind === "file" ? "+" : "−") + esc(text.split(" ")[0]) + "</text>" : "") + "</g>");
      } else if (kind === "log") {
        if (roomFor(l, "g", yy)) out.push('<text class="t-log"' + ta + ' x="' + (x - laneW * 0.47) + '" y="' + (textY + 3) + '">' +
          esc(text.slice(0, Math.floor(laneW * 1.3 / 5.4))) + tip + "</text>");
      }
      if (isHit) out.push('<circle class="hit" cx="' + x + '" cy="' + yy + '" r="8"/>');
    }

    // the failed check
    if (D.fail && inWin(D.fail.t)) {
      const yf = y(D.fail.t);
      out.push('<line id="fail-line" x1="' + GUTTER + '" x2="' + W + '" y1="' + yf + '" y2="' + yf +
        '"/><text class="t-fail" id="fail-text" x="' + (GUTTER + 4) + '" y="' + (yf + 14) + '">✗ ' +
        esc(D.fail.msg.slice(0, 160)) + "</text>");
    }
    out.push("</svg>");
    $("chart").innerHTML = out.join("");

    $("lane-heads").innerHTML = lanes.map((l) => '<div class="lane-head" data-lane="' + l + '" style="left:' +
      (col.get(l) - laneW / 2) + "px;width:" + laneW + 'px" title="click to hide">' + esc(D.lanes[l]) +
      "</div>").join("");
    $("lane-heads").style.top = $("top").offsetHeight + "px";
    $("w0").value = fmt(st.w0);
    $("w1").value = fmt(st.w1);
    $("scale").textContent = " " + (st.scale >= 1 ? fmt(st.scale) + " px/ms" : fmt(1 / st.scale) + " ms/px") + " ";
    $("notice").textContent = notice;
    if (st.search !== null) {
      $("search-result").innerHTML = nhits ? nhits + " marks (" + hits.slice(0, 6).map(([t, l, k]) =>
        '<a href="#" data-goto="' + t + '">' + k + " " + esc(D.lanes[l]) + " @" + fmt(t) + "</a>").join(", ") +
        (nhits > 6 ? ", …" : "") + ")" : "no start/apply with that index";
    } else {
      $("search-result").textContent = "";
    }
    const b = document.body.dataset;
    b.lanes = lanes.length;
    b.rpcs = rpcs.length;
    b.lost = nlost;
    b.marks = nm;
    b.bands = nb;
    b.fail = D.fail ? (inWin(D.fail.t) ? "shown" : "outside") : "none";
    b.renderMs = Math.round(performance.now() - t0);
    return firstHit;
  }

  function scrollToTime(t) {
    const yy = TOP + (t - st.w0) * st.scale;
    const top = $("chart").getBoundingClientRect().top + window.scrollY;
    window.scrollTo(0, Math.max(0, top + yy - window.innerHeight / 2));
  }
  function scrollToFail() { if (D.fail) scrollToTime(D.fail.t); }

  function gotoTime(t) {
    if (t < st.w0 || t > st.w1) {
      const span = st.w1 - st.w0;
      st.w0 = Math.max(D.t0, t - span / 2);
      st.w1 = st.w0 + span;
      draw();
    }
    scrollToTime(t);
  }

  function zoom(f) {
    const mid = st.w0 + (window.scrollY + window.innerHeight / 2 -
      ($("chart").getBoundingClientRect().top + window.scrollY) - TOP) / st.scale;
    st.scale = Math.min(50, Math.max(0.005, st.scale * f));
    draw();
    scrollToTime(mid);
  }

  // ---- controls -------------------------------------------------------------------
  function wire() {
    $("apply-window").onclick = () => {
      const a = parseFloat($("w0").value), b = parseFloat($("w1").value);
      if (isFinite(a) && isFinite(b) && b > a) { st.w0 = a; st.w1 = b; fitScale(true); draw(); }
    };
    $("win-fail").onclick = () => { defaultWindow(); fitScale(); draw(); scrollToFail(); };
    $("win-all").onclick = () => { st.w0 = D.t0; st.w1 = D.t1 + 10; fitScale(); draw(); };
    $("zoom-in").onclick = () => zoom(2);
    $("zoom-out").onclick = () => zoom(0.5);
    $("only-lost").onchange = (e) => { st.onlyLost = e.target.checked; draw(); };
    $("show-log").onchange = (e) => { st.showLog = e.target.checked; draw(); };
    $("show-nostart").onchange = (e) => { st.showNoStart = e.target.checked; draw(); };
    $("search").onchange = (e) => {
      const v = parseInt(e.target.value, 10);
      st.search = isFinite(v) ? v : null;
      const first = draw();
      if (first !== null) gotoTime(first);
    };
    $("search-result").onclick = (e) => {
      const t = e.target.dataset && e.target.dataset.goto;
      if (t !== undefined) { e.preventDefault(); gotoTime(parseFloat(t)); }
    };
    $("filters").onchange = (e) => {
      const d = e.target.dataset;
      if (d.lane !== undefined) {
        const l = +d.lane;
        if (e.target.checked) st.hiddenLanes.delete(l); else st.hiddenLanes.add(l);
      } else if (d.method !== undefined) {
        const m = +d.method;
        if (e.target.checked) st.hiddenMethods.delete(m); else st.hiddenMethods.add(m);
      }
      draw();
    };
    $("lane-heads").onclick = (e) => {
      const l = e.target.dataset && e.target.dataset.lane;
      if (l === undefined) return;
      st.hiddenLanes.add(+l);
      const box = document.querySelector('#lane-filter input[data-lane="' + l + '"]');
      if (box) box.checked = false;
      draw();
    };
    const tipBox = $("tip");
    $("chart").addEventListener("mouseover", (e) => {
      const el = e.target.closest("[data-t]");
      if (!el) { tipBox.style.display = "none"; return; }
      tipBox.textContent = tips[+el.dataset.t]();
      tipBox.style.display = "block";
      tipBox.style.left = (e.pageX + 12) + "px";
      tipBox.style.top = (e.pageY + 12) + "px";
    });
    window.addEventListener("wheel", (e) => {
      if (!e.ctrlKey) return;
      e.preventDefault();
      zoom(e.deltaY < 0 ? 1.25 : 0.8);
    }, { passive: false });
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(draw, 150);
    });
  }

  header();
  wire();
  defaultWindow();
  fitScale();
  // A URL fragment like #index=42 or #t=1500 opens the page there.
  // #w=A-B shows that window from its top, #fail=S the S ms before the
  // failure (no scrolling: for screenshots, which headless Chromium takes
  // at the top of the page).
  const w = /^#w=([\d.]+)-([\d.]+)$/.exec(location.hash) ||
    (D.fail && /^#fail=([\d.]+)$/.exec(location.hash));
  if (w && w.length === 3) { st.w0 = parseFloat(w[1]); st.w1 = parseFloat(w[2]); fitScale(true); }
  else if (w) {
    st.w0 = Math.max(D.t0, D.fail.t - parseFloat(w[1]));
    st.w1 = D.fail.t + (D.fail.t - st.w0) * 0.04 + 20;
    fitScale(true);
  }
  const h = /^#(index|t)=([\d.]+)$/.exec(location.hash);
  if (h && h[1] === "index") { st.search = parseInt(h[2], 10); $("search").value = h[2]; }
  const first = draw();
  if (h && h[1] === "t") gotoTime(parseFloat(h[2]));
  else if (first !== null) gotoTime(first);
  else if (!w) scrollToFail();
  document.body.dataset.readyMs = Math.round(performance.now());
})();
