/**
 * Text that came from the network (names, paths, peer messages, reasons) on its way to a
 * terminal: control characters (C0, DEL, C1) and bidi controls become visible escapes
 * (`\x1b`, `\u202e`), so no peer can clear the screen, forge lines or reverse a name.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

export function printable (text: string): string {
  return text.replace(UNPRINTABLE, ch => {
    const code = ch.charCodeAt(0)
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

/**
 * A JSON line with every character JSON.stringify leaves raw but a terminal may act on
 * (DEL, C1, bidi controls, U+2028/9) written as \u escapes: the parsed value is the same.
 */
export function jsonLine (value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    ch => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
