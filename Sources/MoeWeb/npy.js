// npy.js: reads NumPy .npy files (v1/v2/v3, float/int dtypes, C or Fortran order → C-order Float32Array) and writes '<f4' ones; node and browsers.

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const SIZES = { f: [2, 4, 8], i: [1, 2, 4, 8], u: [1, 2, 4, 8], b: [1] };

/** Float value of IEEE binary16 bits. */
function half(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Parses the header dictionary ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"). */
function parseHeader(text) {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const order = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !order || !shape) throw new Error(`npy: malformed header ${JSON.stringify(text.trim())}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => Number(s.replace(/L$/, '')));
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`npy: bad shape (${shape[1]})`);
  return { descr: descr[1], fortran: order[1] === 'True', shape: dims };
}

/**
 * Parses a .npy file into float32 values.
 * @param {ArrayBuffer|ArrayBufferView} source the file's bytes
 * @returns {{data: Float32Array, shape: number[], dtype: string}} values in C order; `dtype` is the file's descr
 * @throws {Error} on a bad magic, a truncated file, or a dtype other than float/int/bool (Fortran order is reordered)
 */
export function parseNpy(source) {
  const bytes = source instanceof ArrayBuffer ? new Uint8Array(source)
    : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error('npy: bad magic (not a .npy file)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new Error(`npy: unknown format version ${major}.${bytes[7]}`);
  const wide = major >= 2, start = wide ? 12 : 10;
  if (bytes.length < start) throw new Error('npy: truncated header');
  const headerLength = wide ? dv.getUint32(8, true) : dv.getUint16(8, true);
  if (start + headerLength > bytes.length) throw new Error('npy: truncated header');
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLength));
  const { descr, fortran, shape } = parseHeader(text);
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  if (!m || !SIZES[m[2]].includes(+m[3])) throw new Error(`npy: unsupported dtype '${descr}' (float, int, uint or bool)`);
  const size = +m[3], kind = m[2], little = m[1] !== '>';
  const n = shape.reduce((p, d) => p * d, 1);
  const offset = start + headerLength;
  if (bytes.length - offset < n * size) throw new Error(`npy: truncated data: ${n * size} bytes expected, ${bytes.length - offset} present`);
  const data = new Float32Array(n);
  const at = bytes.byteOffset + offset;
  if (kind === 'f' && size === 4 && little && new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) {
    new Uint8Array(data.buffer).set(bytes.subarray(offset, offset + 4 * n));
  } else {
    const d = new DataView(bytes.buffer, at, n * size);
    const get = {
      f2: (o) => half(d.getUint16(o, little)), f4: (o) => d.getFloat32(o, little), f8: (o) => d.getFloat64(o, little),
      i1: (o) => d.getInt8(o), i2: (o) => d.getInt16(o, little), i4: (o) => d.getInt32(o, little),
      i8: (o) => Number(d.getBigInt64(o, little)), u1: (o) => d.getUint8(o), u2: (o) => d.getUint16(o, little),
      u4: (o) => d.getUint32(o, little), u8: (o) => Number(d.getBigUint64(o, little)), b1: (o) => (d.getUint8(o) ? 1 : 0),
    }[kind + size];
    for (let i = 0; i < n; i++) data[i] = get(i * size);
  }
  return { data: fortran && shape.filter((d) => d > 1).length > 1 ? fortranToC(data, shape) : data, shape, dtype: descr };
}

/** Reorders Fortran-order (first index fastest) values into C order. */
function fortranToC(data, shape) {
  const out = new Float32Array(data.length), r = shape.length, idx = new Array(r).fill(0);
  const fStrides = shape.map((_, d) => shape.slice(0, d).reduce((p, e) => p * e, 1));
  for (let i = 0; i < data.length; i++) {
    out[i] = data[idx.reduce((o, v, d) => o + v * fStrides[d], 0)];
    for (let d = r - 1; d >= 0 && ++idx[d] === shape[d]; d--) idx[d] = 0;
  }
  return out;
}

/**
 * Writes float32 values as a '<f4' C-order .npy file (format 1.0, or 2.0 when the header needs it).
 * @param {Float32Array|number[]} data values in C order
 * @param {number[]} shape dimensions; their product must equal data.length
 * @returns {Uint8Array} the file's bytes (header padded to a multiple of 64)
 */
export function writeNpy(data, shape) {
  const n = shape.reduce((p, d) => p * d, 1);
  if (n !== data.length) throw new Error(`npy: shape (${shape.join(', ')}) needs ${n} values, got ${data.length}`);
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  const wide = dict.length + 11 > 65535, start = wide ? 12 : 10;
  dict += ' '.repeat((64 - ((start + dict.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(start + dict.length + 4 * n);
  const dv = new DataView(out.buffer);
  out.set(MAGIC);
  out[6] = wide ? 2 : 1;
  if (wide) dv.setUint32(8, dict.length, true); else dv.setUint16(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[start + i] = dict.charCodeAt(i);
  const f = Float32Array.from(data);
  for (let i = 0; i < n; i++) dv.setFloat32(start + dict.length + 4 * i, f[i], true);
  return out;
}
