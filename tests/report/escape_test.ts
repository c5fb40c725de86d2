import { defangUrls, escapeHtml } from "../../lib/report/escape.ts";
import { formatCount, formatDate, formatDuration, groupDigits, median } from "../../lib/report/format.ts";
import { assertEquals } from "../_helpers/assert.ts";

Deno.test("escapeHtml escapes the five HTML-special characters", () => {
  assertEquals(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
});

Deno.test("defangUrls keeps the SVG and XLink namespaces and breaks every other URL", () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">';
  assertEquals(defangUrls(svg), svg);
  assertEquals(
    defangUrls("see https://example.com and HTTP://x"),
    "see https&#58;//example.com and HTTP&#58;//x",
  );
});

Deno.test("format helpers", () => {
  assertEquals(groupDigits(812345), "812,345");
  assertEquals(formatCount(812345), "812,345 (812.35 k)");
  assertEquals(formatCount(1_234_567), "1,234,567 (1.23 M)");
  assertEquals(formatCount(96), "96");
  assertEquals(formatDate("2026-11-25T21:30:00.123Z"), "2026-11-25 21:30:00 UTC");
  assertEquals(formatDate("yesterday"), "yesterday");
  assertEquals(formatDuration(12.34), "12.3s");
  assertEquals(formatDuration(245), "4m 05s");
  assertEquals(formatDuration(3723), "1h 02m 03s");
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([4, 1, 2, 3]), 2.5);
  assertEquals(median([]), undefined);
});
