/**
 * A small JSONC parser: JSON plus `//` and `/* *\/` comments and trailing commas in objects and arrays.
 * A syntax error throws {@link JsoncSyntaxError} naming the 1-based line and column. A key that appears twice in
 * one object is an error (in a config it is always a mistake).
 *
 * @module
 */

/** A value that JSON (and so JSONC) can express. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSONC syntax error at a 1-based `line` and `column`; `reason` is the message without the position. */
export class JsoncSyntaxError extends SyntaxError {
  /** 1-based line of the offending character. */
  readonly line: number;
  /** 1-based column (UTF-16 code units) of the offending character. */
  readonly column: number;
  /** What is wrong, e.g. `unexpected token }`. */
  readonly reason: string;

  /** Builds the error; the message reads `<reason> at line L, column C`. */
  constructor(reason: string, line: number, column: number) {
    super(`${reason} at line ${line}, column ${column}`);
    this.name = "JsoncSyntaxError";
    this.reason = reason;
    this.line = line;
    this.column = column;
  }
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WORD = /[A-Za-z0-9_$.+-]+/y;

/** Parses JSONC text into a plain value. Objects are ordinary objects; `__proto__` is kept as an own key. */
export function parseJsonc(text: string): JsonValue {
  const p = new Parser(text);
  p.skip();
  const value = p.value();
  p.skip();
  if (p.pos < text.length) p.fail(`unexpected token ${p.token()}`);
  return value;
}

class Parser {
  pos: number;
  constructor(readonly text: string) {
    this.pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  }

  fail(reason: string, at = this.pos): never {
    let line = 1, lineStart = 0;
    for (let i = 0; i < at && i < this.text.length; i++) {
      if (this.text[i] === "\n") {
        line++;
        lineStart = i + 1;
      }
    }
    throw new JsoncSyntaxError(reason, line, at - lineStart + 1);
  }

  /** A printable name for the token at the cursor, for error messages. */
  token(): string {
    if (this.pos >= this.text.length) return "end of input";
    WORD.lastIndex = this.pos;
    const m = WORD.exec(this.text);
    return m ? m[0] : JSON.stringify(this.text[this.pos]).slice(1, -1);
  }

  /** Skips whitespace and comments. */
  skip(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") this.pos++;
      else if (c === "/" && t[this.pos + 1] === "/") {
        const end = t.indexOf("\n", this.pos);
        this.pos = end < 0 ? t.length : end + 1;
      } else if (c === "/" && t[this.pos + 1] === "*") {
        const end = t.indexOf("*/", this.pos + 2);
        if (end < 0) this.fail("unterminated comment");
        this.pos = end + 2;
      } else return;
    }
  }

  value(): JsonValue {
    const c = this.text[this.pos];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        WORD.lastIndex = this.pos;
        if (WORD.exec(this.text)?.[0] === word) {
          this.pos += word.length;
          return v;
        }
      }
    }
    return this.fail(
      this.pos >= this.text.length ? "unexpected end of input" : `unexpected token ${this.token()}`,
    );
  }

  object(): { [key: string]: JsonValue } {
    const out: { [key: string]: JsonValue } = {};
    this.pos++; // {
    for (;;) {
      this.skip();
      if (this.text[this.pos] === "}") break;
      if (this.text[this.pos] !== '"') this.fail(`expected a string key or }, got ${this.token()}`);
      const keyAt = this.pos;
      const key = this.string();
      if (Object.hasOwn(out, key)) this.fail(`duplicate key ${JSON.stringify(key)}`, keyAt);
      this.skip();
      if (this.text[this.pos] !== ":") this.fail(`expected : after key, got ${this.token()}`);
      this.pos++;
      this.skip();
      Object.defineProperty(out, key, {
        value: this.value(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.skip();
      const c = this.text[this.pos];
      if (c === ",") this.pos++;
      else if (c === "}") break;
      else this.fail(`expected , or }, got ${this.token()}`);
    }
    this.pos++; // }
    return out;
  }

  array(): JsonValue[] {
    const out: JsonValue[] = [];
    this.pos++; // [
    for (;;) {
      this.skip();
      if (this.text[this.pos] === "]") break;
      out.push(this.value());
      this.skip();
      const c = this.text[this.pos];
      if (c === ",") this.pos++;
      else if (c === "]") break;
      else this.fail(`expected , or ], got ${this.token()}`);
    }
    this.pos++; // ]
    return out;
  }

  string(): string {
    const t = this.text;
    const start = this.pos;
    let out = "";
    this.pos++; // opening quote
    for (;;) {
      if (this.pos >= t.length) this.fail("unterminated string", start);
      const c = t[this.pos];
      if (c === '"') break;
      if (c === "\n") this.fail("unterminated string", start);
      if (c < " ") this.fail("control character in string");
      if (c === "\\") {
        const e = t[this.pos + 1];
        if (e === "u") {
          const hex = t.slice(this.pos + 2, this.pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("invalid \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 6;
        } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
          out += ESCAPES[e];
          this.pos += 2;
        } else this.fail(`invalid escape \\${e ?? ""}`);
      } else {
        out += c;
        this.pos++;
      }
    }
    this.pos++; // closing quote
    return out;
  }

  number(): number {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    WORD.lastIndex = this.pos;
    const word = WORD.exec(this.text)?.[0];
    if (!m || m[0] !== word) this.fail(`invalid number ${word ?? this.token()}`);
    this.pos += m[0].length;
    return Number(m[0]);
  }
}
