// Writes FILE.gz (gzip -9) and FILE.br (brotli 11) next to each FILE given, and prints
// one line per file: name, raw, gzip and brotli bytes. For a host that serves a stored
// encoding as is (S3 behind CloudFront does not compress application/wasm).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

/** gzip -9 (GNU gzip's deflate is ~1 % smaller than zlib's on the wasm); zlib without it. */
function gzip9(bytes) {
  try {
    return execFileSync("gzip", ["-9", "-n", "-c"], { input: bytes, maxBuffer: 1 << 30 });
  } catch {
    return gzipSync(bytes, { level: 9 });
  }
}

/** The two encodings of `bytes`, as uploaded: gzip -9, brotli quality 11 with the size hint. */
export function encodings(bytes) {
  return {
    gz: gzip9(bytes),
    br: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }),
  };
}

/** Writes the copies; returns their sizes. */
export function compressFile(file) {
  const bytes = readFileSync(file);
  const { gz, br } = encodings(bytes);
  writeFileSync(`${file}.gz`, gz);
  writeFileSync(`${file}.br`, br);
  return { name: basename(file), raw: bytes.length, gz: gz.length, br: br.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const file of process.argv.slice(2)) {
    const s = compressFile(file);
    console.log(`${s.name} ${s.raw} ${s.gz} ${s.br}`);
  }
}
