import { join } from "node:path";
import { main } from "../../lib/experiment/cli/report.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";

Deno.test("report --figures writes each drawn figure as a standalone SVG; the page has a table of contents", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = join(dir, "run");
    await Deno.mkdir(run);
    const lines = Array.from(
      { length: 12 },
      (_, i) =>
        JSON.stringify({
          step: i + 1,
          split: "train",
          loss: 3 - i * 0.1,
          lr: 1e-3,
          grad_norm: 0.5,
          tokens_per_s: 100,
        }),
    );
    lines.push(JSON.stringify({
      step: 12,
      split: "detail",
      params: [{ name: "w", grad_norm: 0.1, weight_norm: 1, update_ratio: 0.001 }],
      blocks: [{ mean: 0, std: 1, dead_gelu: 0 }],
    }));
    await Deno.writeTextFile(join(run, "metrics.jsonl"), lines.join("\n") + "\n");
    const out: string[] = [];
    const code = await main([run, "--out", join(dir, "r.html"), "--figures", join(dir, "figs")], {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
    });
    assertEquals(code, 0, out.join("\n"));
    const files = [...Deno.readDirSync(join(dir, "figs"))].map((e) => e.name).sort();
    for (const id of ["loss", "grad_norm", "grad_flow", "activations"]) {
      assertTrue(files.includes(`${id}.svg`), id);
    }
    for (const f of files) {
      const svg = await Deno.readTextFile(join(dir, "figs", f));
      assertTrue(svg.startsWith("<svg") && svg.includes('xmlns="http://www.w3.org/2000/svg"'), f);
      assertTrue(
        !svg.includes("<div") && !svg.includes("<span") && svg.trimEnd().endsWith("</svg>"),
        `${f}: pure SVG`,
      );
    }
    const html = await Deno.readTextFile(join(dir, "r.html"));
    assertTrue(html.includes('<p class="toc"><a href="#fig-loss">Loss</a>'), "table of contents");
    // --format png: the same figures rasterised (resvg) at 2×
    const pngOut: string[] = [];
    const io = { out: (l: string) => pngOut.push(l), err: (l: string) => pngOut.push(l) };
    const png = join(dir, "png");
    assertEquals(
      await main([run, "--out", join(dir, "r.html"), "--figures", png, "--format", "png"], io),
      0,
      pngOut.join("\n"),
    );
    const pngs = [...Deno.readDirSync(png)].map((e) => e.name).sort();
    assertEquals(pngs, files.map((f) => f.replace(/\.svg$/, ".png")));
    const bytes = await Deno.readFile(join(png, "loss.png"));
    assertEquals([...bytes.slice(1, 4)], [0x50, 0x4e, 0x47], "PNG signature");
    // IHDR width: the 900-px figure at 2×
    assertEquals(new DataView(bytes.buffer, bytes.byteOffset).getUint32(16), 1800);
    const bad: string[] = [];
    const badIo = { out: (l: string) => bad.push(l), err: (l: string) => bad.push(l) };
    assertEquals(await main([run, "--figures", png, "--format", "jpg"], badIo), 2);
    assertTrue(bad[0].includes('expected svg or png, got "jpg"'), bad[0]);
    bad.length = 0;
    assertEquals(await main([run, "--format", "png"], badIo), 2);
    assertTrue(bad[0].includes("--format needs --figures DIR"), bad[0]);
    // a sweep folder's report takes none of the run report's flags
    const sweepDir = join(dir, "sweep");
    await Deno.mkdir(sweepDir);
    await Deno.writeTextFile(join(sweepDir, "sweep.json"), JSON.stringify({ trials: [] }));
    bad.length = 0;
    assertEquals(await main([sweepDir, "--out", join(dir, "x.html")], badIo), 2);
    assertTrue(bad[0].includes("is a sweep folder: its report takes no --out"), bad[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
