/**
 * The report's duration of a resumed run is its training time (the metrics' elapsed_s, which the trainer carries
 * across resumes), not the span from the manifest's start to its end (issue 14, point 10).
 *
 * @module
 */
import { join } from "node:path";
import { parseHTML } from "linkedom";
import { renderReport } from "../../lib/report/report.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";

/** The table row headed `label`: its cells' main text and their notes. */
function row(html: string, label: string): { text: string; note: string }[] | undefined {
  const { document } = parseHTML(html);
  const tr = [...document.querySelectorAll("tr")].find((r) => r.querySelector("th")?.textContent === label);
  return tr && [...tr.querySelectorAll("td")].map((td) => {
    const note = td.querySelector(".note")?.textContent ?? "";
    return { text: (td.textContent ?? "").slice(0, (td.textContent ?? "").length - note.length), note };
  });
}

Deno.test("a run resumed two days after it stopped: the report's duration is the training time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "report-resume-" });
  try {
    // trained to step 10 (41 s), stopped; resumed two days later and trained to step 20 (83.4 s in all)
    const events = [
      { step: 5, split: "train", loss: 4.1, elapsed_s: 20.5 },
      { step: 10, split: "train", loss: 3.9, elapsed_s: 41 },
      { step: 10, split: "val", loss: 3.95, elapsed_s: 41.6 },
      { step: 10, split: "resume", elapsed_s: 41.6 },
      { step: 15, split: "train", loss: 3.7, elapsed_s: 62.1 },
      { step: 20, split: "train", loss: 3.5, elapsed_s: 82.8 },
      { step: 20, split: "val", loss: 3.6, elapsed_s: 83.4 },
    ];
    await Deno.writeTextFile(
      join(dir, "metrics.jsonl"),
      events.map((e) => JSON.stringify(e)).join("\n") + "\n",
    );
    await Deno.writeTextFile(
      join(dir, "manifest.json"),
      JSON.stringify({
        name: "resumed",
        status: "completed",
        start_time: "2026-11-25T10:00:00.000Z",
        end_time: "2026-11-27T10:00:00.000Z",
        final: { step: 20, train_loss: 3.5, val_loss: 3.6 },
      }),
    );
    const html = await renderReport([dir]);
    // before: one row "duration" of 48h 00m 00s (end_time − start_time, the idle two days included)
    assertEquals(row(html, "duration"), undefined, "no row of an ambiguous duration");
    assertEquals(row(html, "training time")?.[0].text, "1m 23s");
    // the wall clock is shown apart, labelled as such, and says it includes the time between the resumes
    const wall = row(html, "wall clock");
    assertEquals(wall?.[0].text, "48h 00m 00s");
    assertTrue(wall![0].note.includes("resume"), wall![0].note);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
