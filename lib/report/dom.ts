/**
 * The server-side DOM that Observable Plot draws into (linkedom).
 *
 * @module
 */
import { parseHTML } from "linkedom";

/** A fresh server-side DOM document for Plot to draw into. */
export function newDocument(): Document {
  return parseHTML("<!doctype html><html><head></head><body></body></html>").document as unknown as Document;
}
