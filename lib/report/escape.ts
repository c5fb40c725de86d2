/**
 * Making text from run directories safe to embed in HTML and SVG.
 *
 * @module
 */

/** Escapes `& < > " '` so that `s` can sit in HTML text or a quoted attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

const NAMESPACES = ["www.w3.org/2000/svg", "www.w3.org/1999/xlink"];

/**
 * Writes every `http://` / `https://` in markup as `http&#58;//`, except the SVG and XLink namespace names, so
 * that a report provably references no external URL. Browsers display the text unchanged; use it only on markup
 * whose text and attribute values decode character references (HTML, SVG), not on raw `<style>`/`<script>` text
 * that contains URLs.
 */
export function defangUrls(markup: string): string {
  return markup.replace(/(https?):\/\//gi, (m, scheme: string, offset: number) => {
    const at = offset + m.length;
    return NAMESPACES.some((ns) => markup.startsWith(ns, at)) ? m : `${scheme}&#58;//`;
  });
}
