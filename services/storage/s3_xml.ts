/**
 * The few S3 XML documents the {@linkcode S3Storage} reads and writes:
 * values are taken by element name (S3's answers are flat enough), and
 * entities decoded. No XML library: each answer needs two or three fields.
 *
 * @module
 */

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};

/** `text` with XML entities (named and numeric) decoded. */
export function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, name: string) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X"
        ? parseInt(name.slice(2), 16)
        : parseInt(name.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name] ?? whole;
  });
}

/** `text` with the characters XML reserves escaped. */
export function encodeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) =>
      `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`,
  );
}

/** The decoded text of every `<name>` element of `xml`, in order. */
export function xmlValues(xml: string, name: string): string[] {
  const pattern = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, "g");
  return [...xml.matchAll(pattern)].map((m) => decodeXml(m[1]!));
}

/** The decoded text of the first `<name>` element of `xml`, if any. */
export function xmlValue(xml: string, name: string): string | undefined {
  return xmlValues(xml, name)[0];
}

/** The body of a CompleteMultipartUpload: the parts and their ETags. */
export function completeXml(etags: readonly string[]): string {
  const parts = etags.map((etag, i) =>
    `<Part><PartNumber>${i + 1}</PartNumber><ETag>${
      encodeXml(etag)
    }</ETag></Part>`
  );
  return `<CompleteMultipartUpload>${parts.join("")}</CompleteMultipartUpload>`;
}
