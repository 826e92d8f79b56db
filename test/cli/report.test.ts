// report.html in a real browser: headless Chromium (Debian's chromium-headless-shell) opens the file
// with every network request refused, and the charts must have drawn marks, without console errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { chromium, type Browser } from "playwright-core";
import {
  chartSeries,
  loadSweep,
  parseSweep,
  runSweepInline,
  writeSweepOutputs,
  type SweepOutcome,
} from "../../src/sim/sweep/index.js";
import { writeBarChart } from "../../bench/chart.js";
import { PATHS, PRIMARY_PROJECT, scratch } from "./helpers.js";

/** Debian's headless shell, or a full Chromium. .ci/run installs chromium-headless-shell when missing. */
const CHROMIUM = [
  "/usr/bin/chromium-headless-shell",
  "/usr/lib/chromium/chromium-headless-shell",
  "/usr/bin/chromium",
].find((p) => existsSync(p));

describe.runIf(PRIMARY_PROJECT)("report.html", () => {
  let browser: Browser;
  let outcome: SweepOutcome;
  let html: string;

  beforeAll(async () => {
    if (!CHROMIUM) throw new Error("no Chromium: apt-get install chromium-headless-shell (.ci/run does)");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    const sweep = parseSweep(`name: report-test
parameters:
  grid:
    "${PATHS.pages}": [128, 192, 256]
    machine.profile: [v6.1, v6.16]
seeds: 2
metrics: [hmm.calls, device.accesses]
`);
    outcome = await runSweepInline(loadSweep(sweep).plan);
    html = writeSweepOutputs(outcome, scratch("hmmsim-report-")).html;
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("is one self-contained file: uPlot inlined, no external URL", () => {
    const text = readFileSync(html, "utf8");
    expect(text).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img[^>]+src=|url\(\s*['"]?https?:|@import/);
    expect(text).toContain("uPlot");
    expect(text).toMatch(/<table class="results">/);
  });

  it("draws a chart per metric and swept parameter, with marks, offline and without console errors", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file:")) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(html).href);
    await page.waitForSelector("body[data-charts]");
    const charts = chartSeries(outcome);
    // simTimeNs and the two metrics, against each of the two parameters
    expect(charts.map((c) => `${c.metric} vs ${c.param}`)).toEqual([
      `simTimeNs vs ${PATHS.pages}`,
      `hmm.calls vs ${PATHS.pages}`,
      `device.accesses vs ${PATHS.pages}`,
      "simTimeNs vs machine.profile",
      "hmm.calls vs machine.profile",
      "device.accesses vs machine.profile",
    ]);
    expect(await page.getAttribute("body", "data-charts")).toBe("6");
    expect(await page.locator("figure.chart canvas").count()).toBe(6);
    expect(await page.locator("figure.chart figcaption").allTextContents()).toEqual(
      charts.map((c) => `${c.metric} vs ${c.param}`),
    );
    // marks: every canvas has drawn (non-transparent) pixels in the plotting area
    const inked = await page.$$eval("figure.chart canvas", (cs) =>
      (cs as HTMLCanvasElement[]).map((c) => {
        const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
        return n;
      }),
    );
    expect(inked.length).toBe(6);
    for (const n of inked) expect(n).toBeGreaterThan(200);
    // each chart has its legend: the parameter, mean, min and max
    expect(
      await page
        .locator("figure.chart[data-param='machine.profile']")
        .first()
        .locator(".u-legend .u-label")
        .allTextContents(),
    ).toEqual(["machine.profile", "mean", "min", "max"]);
    // the table has one row per point × seed
    expect(await page.locator("table.results tbody tr").count()).toBe(12);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  it("the benchmark's bar chart renders offline too (no CDN)", async () => {
    const file = `${scratch("hmmsim-bench-chart-")}/W1.chart.html`;
    writeBarChart(file, "W1: snapshot", [
      { name: "wasm", opsPerSec: 812.5, marginPct: 1.2 },
      { name: "reference", opsPerSec: 20.1, marginPct: 3.4 },
    ]);
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    await page.route("**/*", (route) => {
      if (route.request().url().startsWith("file:")) return route.continue();
      requests.push(route.request().url());
      return route.abort();
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector("body[data-charts='1']");
    // the two bars: blue pixels in the plotting area
    const blue = await page.$eval("#chart canvas", (c) => {
      const d = (c as HTMLCanvasElement)
        .getContext("2d")!
        .getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 150 && d[i] < 150 && d[i + 3] > 0) n++;
      return n;
    });
    expect(blue).toBeGreaterThan(500);
    expect(await page.locator("body > table tbody tr").allTextContents()).toEqual([
      "wasm812.50±1.20%",
      "reference20.10±3.40%",
    ]);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});
