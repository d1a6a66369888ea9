import { SILERO_GEOMETRY } from './geometry';
import { type FloatTensor, type GraphTensors, OnnxGraphBuilder, readOnnxTensors } from './onnx-model';

/*
 * Silero VAD v5 re-expressed for batches. The published graph runs each layer as a 1-D Conv, which
 * onnxruntime computes stream by stream as tiny matrix products (4 time steps wide); per window it costs about
 * as much at a batch of 100 as at 8. Every layer here is one MatMul over the whole batch instead: STFT frames
 * are cut with Reshape/Slice, each convolution gathers its 3 taps side by side (im2col), the LSTM cell is
 * written out. Same weights (read from the model file), same inputs and outputs, so it is a drop-in
 * replacement; the worker checks it against the original on load and keeps the original if they differ.
 */

const WEIGHTS = [
  'stft.forward_basis_buffer',
  'encoder.0.reparam_conv.weight',
  'encoder.0.reparam_conv.bias',
  'encoder.1.reparam_conv.weight',
  'encoder.1.reparam_conv.bias',
  'encoder.2.reparam_conv.weight',
  'encoder.2.reparam_conv.bias',
  'encoder.3.reparam_conv.weight',
  'encoder.3.reparam_conv.bias',
  'decoder.rnn.weight_ih',
  'decoder.rnn.weight_hh',
  'decoder.rnn.bias_ih',
  'decoder.rnn.bias_hh',
  'decoder.decoder.2.weight',
  'decoder.decoder.2.bias',
] as const;
type WeightName = (typeof WEIGHTS)[number];
type Weights = Record<WeightName, FloatTensor>;

const HIDDEN = 128;

/** Finds the graph (If branch) holding the weights of the model for `rate`, told apart by the STFT kernel size. */
function weightsFor(root: GraphTensors, rate: number, kernel: number): Weights {
  const stack = [root];
  while (stack.length > 0) {
    const g = stack.pop()!;
    stack.push(...g.subgraphs);
    const basis = g.tensors.find((t) => t.name.endsWith(WEIGHTS[0]));
    if (!basis || basis.dims[2] !== kernel) continue;
    const found: Partial<Weights> = {};
    for (const w of WEIGHTS) {
      const t = g.tensors.find((x) => x.name.endsWith(w));
      if (!t) throw new Error(`Silero v5 weight ${w} not found for ${rate} Hz`);
      found[w] = t;
    }
    return found as Weights;
  }
  throw new Error(`no Silero v5 STFT weights for ${rate} Hz (kernel ${kernel})`);
}

function expectDims(t: FloatTensor, dims: number[]): void {
  if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
    throw new Error(`Silero v5 weight ${t.name}: shape [${t.dims}], expected [${dims}]`);
  }
}

/** Conv1d weight [out, in, 3] as a MatMul operand [3 * in, out] for im2col rows (tap-major). */
function convTaps(w: FloatTensor): Float32Array {
  const [out, inCh, k] = w.dims;
  const m = new Float32Array(k * inCh * out);
  for (let tap = 0; tap < k; tap++) for (let c = 0; c < inCh; c++) for (let o = 0; o < out; o++) m[(tap * inCh + c) * out + o] = w.data[(o * inCh + c) * k + tap];
  return m;
}

/**
 * A Conv1d (kernel 3, padding 1) over a whole, short input as one dense matrix [tIn * in, tOut * out]: inputs
 * and outputs time-major (step t's channels at t * channels). Zero where a tap would read the padding.
 */
function convAsDense(w: FloatTensor, tIn: number, stride: number): { m: Float32Array; rows: number; cols: number } {
  const [out, inCh, k] = w.dims;
  const tOut = Math.floor((tIn + 2 - k) / stride) + 1;
  const rows = tIn * inCh;
  const cols = tOut * out;
  const m = new Float32Array(rows * cols);
  for (let to = 0; to < tOut; to++) {
    for (let tap = 0; tap < k; tap++) {
      const ti = to * stride + tap - 1;
      if (ti < 0 || ti >= tIn) continue;
      for (let c = 0; c < inCh; c++) for (let o = 0; o < out; o++) m[(ti * inCh + c) * cols + to * out + o] = w.data[(o * inCh + c) * k + tap];
    }
  }
  return { m, rows, cols };
}

/**
 * The batched graph for one sample rate: inputs `input` [N, context + window] and `state` [2, N, 128],
 * outputs `output` [N, 1] and `stateN` [2, N, 128], as the published model (without its `sr` input), except
 * that `input` holds 16-bit sample values (it scales them to [-1, 1) itself: callers copy int16 natively).
 */
export function buildBatchedSilero(model: Uint8Array, rate: 8000 | 16000): Uint8Array {
  const { window, context } = SILERO_GEOMETRY[rate];
  const K = window / 2; // STFT filter length: 128 or 256
  const w = weightsFor(readOnnxTensors(model), rate, K);
  const hop = K / 2;
  const bins = K / 2 + 1;
  const width = context + window;
  const pad = hop / 2; // reflection padding on the right, as the original
  const frames = (width + pad - K) / hop + 1; // 4
  expectDims(w['stft.forward_basis_buffer'], [2 * bins, 1, K]);
  expectDims(w['encoder.0.reparam_conv.weight'], [128, bins, 3]);
  expectDims(w['encoder.1.reparam_conv.weight'], [64, 128, 3]);
  expectDims(w['encoder.2.reparam_conv.weight'], [64, 64, 3]);
  expectDims(w['encoder.3.reparam_conv.weight'], [128, 64, 3]);
  expectDims(w['decoder.rnn.weight_ih'], [4 * HIDDEN, HIDDEN]);
  expectDims(w['decoder.rnn.weight_hh'], [4 * HIDDEN, HIDDEN]);
  expectDims(w['decoder.decoder.2.weight'], [1, HIDDEN, 1]);

  const b = new OnnxGraphBuilder();
  const N = 'batch';
  const input = b.input('input', [N, width]);
  const state = b.input('state', [2, N, HIDDEN]);
  const ax = (...a: number[]) => b.intsConst(...a);
  const slice = (x: string, start: number, end: number, axis: number, step = 1) => b.op1('Slice', [x, ax(start), ax(end), ax(axis), ax(step)]);
  const reshape = (x: string, ...shape: number[]) => b.op1('Reshape', [x, ax(...shape)]);
  const dense = (x: string, name: string, m: Float32Array, rows: number, cols: number, bias: Float32Array, relu = true) => {
    const y = b.op1('Add', [b.op1('MatMul', [x, b.floats(`${name}.w`, [rows, cols], m)]), b.floats(`${name}.b`, [cols], bias)]);
    return relu ? b.op1('Relu', [y]) : y;
  };

  // STFT: frames of K samples every hop (the 1/32768 input scale folded into the basis), then magnitudes.
  const padded = b.op1('Pad', [input, ax(0, 0, 0, pad)], { mode: 'reflect' });
  const blocks = reshape(padded, -1, frames + 1, hop); // frame t = blocks t and t + 1
  const framed = reshape(b.op1('Concat', [slice(blocks, 0, frames, 1), slice(blocks, 1, frames + 1, 1)], { axis: 2 }), -1, K);
  const basis = w['stft.forward_basis_buffer'].data; // [2*bins, 1, K]: bins real rows, then bins imaginary
  const at = (row: number, k: number) => basis[row * K + k] / 32768;
  const reBasis = new Float32Array(K * bins);
  const imBasis = new Float32Array(K * bins);
  for (let f = 0; f < bins; f++) {
    for (let k = 0; k < K; k++) {
      reBasis[k * bins + f] = at(f, k);
      imBasis[k * bins + f] = at(bins + f, k);
    }
  }
  const re = b.op1('MatMul', [framed, b.floats('stft.re', [K, bins], reBasis)]);
  const im = b.op1('MatMul', [framed, b.floats('stft.im', [K, bins], imBasis)]);
  const mag = b.op1('Sqrt', [b.op1('Add', [b.op1('Mul', [re, re]), b.op1('Mul', [im, im])])]); // [N*4, bins]

  // Encoder (time-major: step t's channels at t * channels). A conv with several output steps gathers its 3
  // taps side by side (im2col) for one product; one with a single output step is one dense layer.
  let x = mag;
  let steps = frames;
  let channels = bins;
  ([['encoder.0', 1], ['encoder.1', 2], ['encoder.2', 2], ['encoder.3', 1]] as const).forEach(([layer, stride]) => {
    const weight = w[`${layer}.reparam_conv.weight`];
    const bias = w[`${layer}.reparam_conv.bias`].data;
    const out = weight.dims[0];
    const tOut = Math.floor((steps - 1) / stride) + 1;
    if (tOut > 1) {
      const p = b.op1('Pad', [reshape(x, -1, steps, channels), ax(0, 1, 0, 0, 1, 0)]);
      const end = (tap: number) => tap + stride * (tOut - 1) + 1;
      const cols = b.op1('Concat', [0, 1, 2].map((tap) => slice(p, tap, end(tap), 1, stride)), { axis: 2 });
      x = dense(reshape(cols, -1, 3 * channels), layer, convTaps(weight), 3 * channels, out, bias);
    } else {
      const d = convAsDense(weight, steps, stride);
      x = dense(reshape(x, -1, steps * channels), layer, d.m, d.rows, d.cols, bias);
    }
    steps = tOut;
    channels = out;
  });

  // LSTM cell (PyTorch gate order i, f, g, o), input and hidden weights stacked into one product.
  const h = b.op1('Gather', [state, b.ints('h_index', 0)], { axis: 0 });
  const c = b.op1('Gather', [state, b.ints('c_index', 1)], { axis: 0 });
  const wih = w['decoder.rnn.weight_ih'].data;
  const whh = w['decoder.rnn.weight_hh'].data;
  const G = 4 * HIDDEN;
  const wg = new Float32Array(2 * HIDDEN * G);
  for (let r = 0; r < G; r++) {
    for (let j = 0; j < HIDDEN; j++) {
      wg[j * G + r] = wih[r * HIDDEN + j];
      wg[(HIDDEN + j) * G + r] = whh[r * HIDDEN + j];
    }
  }
  const bg = new Float32Array(G);
  for (let r = 0; r < G; r++) bg[r] = w['decoder.rnn.bias_ih'].data[r] + w['decoder.rnn.bias_hh'].data[r];
  const gates = dense(b.op1('Concat', [x, h], { axis: 1 }), 'lstm', wg, 2 * HIDDEN, G, bg, false);
  const [gi, gf, gg, go] = b.op('Split', [gates, ax(HIDDEN, HIDDEN, HIDDEN, HIDDEN)], { axis: 1 }, 4);
  const c2 = b.op1('Add', [b.op1('Mul', [b.op1('Sigmoid', [gf]), c]), b.op1('Mul', [b.op1('Sigmoid', [gi]), b.op1('Tanh', [gg])])]);
  const h2 = b.op1('Mul', [b.op1('Sigmoid', [go]), b.op1('Tanh', [c2])]);

  // Decoder: ReLU, 1x1 conv to one logit, sigmoid.
  const logit = dense(b.op1('Relu', [h2]), 'dec', w['decoder.decoder.2.weight'].data, HIDDEN, 1, w['decoder.decoder.2.bias'].data, false);
  b.op1('Sigmoid', [logit], {}, 'output');
  const unsq = (t: string) => b.op1('Unsqueeze', [t, ax(0)]);
  b.op1('Concat', [unsq(h2), unsq(c2)], { axis: 0 }, 'stateN');
  b.output('output', [N, 1]);
  b.output('stateN', [2, N, HIDDEN]);
  return b.build();
}
