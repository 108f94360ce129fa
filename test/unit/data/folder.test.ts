// Folders and list files of images / WAVs as data sets: recipes, labels from each source,
// order and bytes the same run to run, shapes checked against the model with one-line errors.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadData, readAll, readRange } from '../../../src/data/dataset.js';
import { parseRecipes } from '../../../src/data/recipe.js';
import { graph, model, node, valueInfo } from '../../../src/ir/build.js';
import type { ElementType } from '../../../src/ir/dtype.js';
import type { Model } from '../../../src/ir/types.js';
import { Rng } from '../../../src/util/random.js';
import { dataPath } from '../../helpers/fixtures.js';
import { tmpDir } from '../../helpers/tmp.js';

const media = (name: string) => dataPath(path.join('media', name));

/** A model with the given inputs (name → shape), outputs copying them. */
function inputsModel(inputs: Record<string, (number | string)[]>, dtype: ElementType = 'float32'): Model {
  const names = Object.keys(inputs);
  return model(
    graph({
      nodes: names.map((n) => node('Identity', [n], [`${n}_out`])),
      inputs: names.map((n) => valueInfo(n, dtype, inputs[n])),
      outputs: names.map((n) => valueInfo(`${n}_out`, dtype, inputs[n])),
    }),
    { opset: 17 },
  );
}

/** A folder with copies of fixture files: { 'cat/a.png': 'rgb.png', … }. */
function folder(files: Record<string, string>): string {
  const dir = tmpDir();
  for (const [to, from] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, to)), { recursive: true });
    if (from.startsWith('text:')) fs.writeFileSync(path.join(dir, to), from.slice(5));
    else fs.copyFileSync(media(from), path.join(dir, to));
  }
  return dir;
}

const image = inputsModel({ x: ['N', 3, 16, 16] });

describe('recipes', () => {
  it('parses every key, lists continuing after commas, fractions and durations', () => {
    const [r] = parseRecipes(['input=x,resize=keep-aspect-pad:48x320,interp=linear,pad=114,pad-side=center,channels=bgr,scale=1/255,mean=0.485,0.456,0.406,std=0.229,0.224,0.225,layout=nhwc,dtype=float32']);
    expect(r!.input).toBe('x');
    expect(r!.resize).toMatchObject({ mode: 'keep-aspect-pad', height: 48, width: 320 });
    expect([r!.interp, r!.padSide, r!.channels, r!.layout, r!.dtype]).toEqual(['linear', 'center', 'bgr', 'nhwc', 'float32']);
    expect(r!.pad).toEqual([114]);
    expect(r!.scale).toBeCloseTo(1 / 255, 12);
    expect(r!.mean).toEqual([0.485, 0.456, 0.406]);
    expect(r!.std).toEqual([0.229, 0.224, 0.225]);
    const [a] = parseRecipes(['rate=16000,channels=mono,length=1s,crop=windows,stride=500ms,features=logmel,n_mels=64,win=25ms,hop=10ms,fmin=20,fmax=7600,mel=slaney,log=db,center=false,power=1']);
    expect([a!.rate, a!.length, a!.stride, a!.cropMode, a!.features]).toEqual([16000, 16000, 8000, 'windows', 'logmel']);
    expect(a!.mel).toMatchObject({ nMels: 64, win: 400, hop: 160, fmin: 20, fmax: 7600, scale: 'slaney', log: 'db', center: false, power: 1 });
    const [s] = parseRecipes(['resize=shorter-side:256,crop=center:224x224']);
    expect(s!.resize).toMatchObject({ mode: 'shorter-side', side: 256 });
    expect(s!.crop).toEqual({ height: 224, width: 224 });
  });

  it('names the recipe and the key in every error', () => {
    expect(() => parseRecipes(['resize=48by320'])).toThrow(/--preprocess 'resize=48by320': resize=48by320 is not valid \(expected HxW, fixed:HxW/);
    expect(() => parseRecipes(['colour=rgb'])).toThrow(/unknown key 'colour' \(keys: input, fill, resize/);
    expect(() => parseRecipes(['channels=rgb,0.5'])).toThrow(/'0\.5' is not key=value/);
    expect(() => parseRecipes(['std=0'])).toThrow(/std=0 is not valid/);
    expect(() => parseRecipes(['length=1s'])).toThrow(/length=1s is not valid \(expected a positive whole number of samples, or a duration like 25ms or 1s with rate=\)/);
    expect(() => parseRecipes(['crop=windows'])).toThrow(/crop=windows needs length=/);
    expect(() => parseRecipes(['scale=1/255', 'scale=1'])).toThrow(/two recipes for the same input/);
  });

  it('reads JSON and YAML files, one recipe or one per input', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'r.json'), JSON.stringify({ resize: '16x16', mean: [0.5, 0.5, 0.5], std: 0.5 }));
    fs.writeFileSync(path.join(dir, 'r.yaml'), ['# two inputs', 'image:', '  resize: keep-aspect-pad:48x320   # letterbox', "  channels: 'bgr'", '  mean: [0.5, 0.5, 0.5]', 'audio:', '  rate: 16000', '  std:', '    - 0.5', ''].join('\n'));
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'resize: 16x16\n  channels: rgb\n');
    const [j] = parseRecipes([path.join(dir, 'r.json')]);
    expect(j!.mean).toEqual([0.5, 0.5, 0.5]);
    expect(j!.std).toEqual([0.5]);
    const y = parseRecipes([`@${path.join(dir, 'r.yaml')}`]);
    expect(y.map((r) => r.input)).toEqual(['image', 'audio']);
    expect(y[0]!.channels).toBe('bgr');
    expect(y[1]!.std).toEqual([0.5]);
    expect(() => parseRecipes([path.join(dir, 'bad.yaml')])).toThrow(/bad\.yaml: not valid YAML \(line 2: unexpected indentation\)/);
    fs.writeFileSync(path.join(dir, 'k.json'), JSON.stringify({ resize: 'big' }));
    expect(() => parseRecipes([path.join(dir, 'k.json')])).toThrow(/k\.json: resize=big is not valid/);
  });
});

describe('labels', () => {
  it('class subfolders: sorted names become 0, 1, … and are reported', async () => {
    const dir = folder({ 'dog/1.png': 'rgb.png', 'cat/2.jpg': 'photo.jpg', 'cat/1.png': 'gray.png', 'emu/x.webp': 'photo.webp' });
    const ds = await loadData(dir, image);
    expect(ds.classes).toEqual(['cat', 'dog', 'emu']);
    const b = await readAll(ds);
    expect(Array.from(b.labels!.data as BigInt64Array, Number)).toEqual([0, 0, 1, 2]); // cat/1.png, cat/2.jpg, dog/1.png, emu/x.webp
    expect(ds.notes.join('\n')).toMatch(/labels from class subfolders: cat=0, dog=1, emu=2/);
    const none = await loadData(dir, image, { labels: 'none' });
    expect(none.labelled).toBe(false);
  });

  it('labels.txt: "file label" rows, or one label per line in sorted file order', async () => {
    const dir = folder({ 'b.png': 'rgb.png', 'a.png': 'gray.png', 'labels.txt': 'text:b.png 7\na.png 3\nextra.png 1\n' });
    const b = await readAll(await loadData(dir, image));
    expect(Array.from(b.labels!.data as BigInt64Array, Number)).toEqual([3, 7]);
    fs.writeFileSync(path.join(dir, 'labels.txt'), '5\n6\n');
    expect(Array.from((await readAll(await loadData(dir, image))).labels!.data as BigInt64Array, Number)).toEqual([5, 6]);
    fs.writeFileSync(path.join(dir, 'labels.txt'), 'a.png 1\n');
    await expect(loadData(dir, image)).rejects.toThrow(/labels\.txt: no label for b\.png/);
  });

  it('a CSV (file,label with a header row), given by --labels', async () => {
    const dir = folder({ 'img/b.png': 'rgb.png', 'img/a.png': 'gray.png', 'meta.csv': 'text:filename,label\nimg/a.png,zebra\nimg/b.png,ant\n' });
    const ds = await loadData(path.join(dir, 'img'), image, { labels: path.join(dir, 'meta.csv') });
    expect(ds.classes).toEqual(['ant', 'zebra']);
    expect(Array.from((await readAll(ds)).labels!.data as BigInt64Array, Number)).toEqual([1, 0]);
  });

  it('a list file: path<TAB>label, relative to the list', async () => {
    const dir = folder({ 'x/a.png': 'rgb.png', 'y/b.jpg': 'photo.jpg' });
    fs.writeFileSync(path.join(dir, 'list.txt'), `# calibration\nx/a.png\t4\n${path.join(dir, 'y/b.jpg')}\t2\n`);
    const ds = await loadData(path.join(dir, 'list.txt'), image);
    expect(ds.count).toBe(2);
    expect(Array.from((await readAll(ds)).labels!.data as BigInt64Array, Number)).toEqual([4, 2]);
    fs.writeFileSync(path.join(dir, 'list.txt'), 'x/a.png\t4\nx/missing.png\t1\n');
    await expect(loadData(path.join(dir, 'list.txt'), image)).rejects.toThrow(/list\.txt:2: .*missing\.png: no such file/);
  });
});

describe('folders as data sets', () => {
  it('defaults the recipe from the model input and says so; values are the decoded pixels / 255', async () => {
    const dir = folder({ 'a.png': 'gray.png' });
    const ds = await loadData(dir, inputsModel({ x: ['N', 1, 24, 32] }));
    expect(ds.notes.join('\n')).toMatch(/taken from the model's input shape: layout=nchw,channels=gray,resize=24x32,scale=1\/255/);
    const b = await readAll(ds);
    expect(b.feeds.x!.dims).toEqual([1, 1, 24, 32]);
    const { arrays } = await (await import('../../../src/data/dataset.js')).readArrays(media('reference.npz'));
    const gray = arrays.get('rgb.png.gray')!.data as Uint8Array;
    const x = b.feeds.x!.data as Float32Array;
    for (let i = 0; i < gray.length; i++) expect(x[i]).toBeCloseTo(gray[i]! / 255, 6);
  });

  it('casts to the input type: uint8 models get the pixels', async () => {
    const dir = folder({ 'a.png': 'rgb.png' });
    const ds = await loadData(dir, inputsModel({ x: ['N', 24, 32, 3] }, 'uint8'), { preprocess: ['layout=nhwc'] });
    const b = await readAll(ds);
    expect(b.feeds.x!.dtype).toBe('uint8');
    const { arrays } = await (await import('../../../src/data/dataset.js')).readArrays(media('reference.npz'));
    expect(Array.from(b.feeds.x!.data as Uint8Array)).toEqual(Array.from(arrays.get('rgb.png.rgb')!.data as Uint8Array));
  });

  it('float16 inputs get half-precision values', async () => {
    const dir = folder({ 'a.png': 'gray.png' });
    const b = await readAll(await loadData(dir, inputsModel({ x: ['N', 1, 24, 32] }, 'float16')));
    expect(b.feeds.x!.dtype).toBe('float16');
    const { arrays } = await (await import('../../../src/data/dataset.js')).readArrays(media('reference.npz'));
    const gray = arrays.get('rgb.png.gray')!.data as Uint8Array;
    const { halfToFloat } = await import('../../../src/ir/dtype.js');
    for (let i = 0; i < gray.length; i += 37) expect(halfToFloat((b.feeds.x!.data as Uint16Array)[i]!)).toBeCloseTo(gray[i]! / 255, 3);
  });

  it('the same indices give the same bytes; a seeded shuffle gives the same order', async () => {
    const dir = folder({ 'c/1.png': 'rgb.png', 'c/2.jpg': 'photo.jpg', 'd/3.webp': 'photo.webp', 'd/4.png': 'palette.png', 'd/5.png': 'rgba.png' });
    const read = async () => {
      const ds = await loadData(dir, image, { preprocess: ['resize=shorter-side:18,crop=16x16,mean=0.5,std=0.25'] });
      const order = new Rng(3).permutation(ds.count);
      return readRange({ ...ds, read: (idx) => ds.read(Uint32Array.from(idx as ArrayLike<number>, (i) => order[i]!)) }, 0, ds.count);
    };
    const [a, b] = [await read(), await read()];
    expect(Buffer.from((a.feeds.x!.data as Float32Array).buffer).equals(Buffer.from((b.feeds.x!.data as Float32Array).buffer))).toBe(true);
    expect(Array.from(a.labels!.data as BigInt64Array)).toEqual(Array.from(b.labels!.data as BigInt64Array));
  });

  it('names the file and the recipe when shapes do not fit, and the file when it is corrupt', async () => {
    const dir = folder({ 'a.png': 'rgb.png', 'b.png': 'text.png' });
    await expect(loadData(dir, image, { preprocess: ['resize=none'] })).rejects.toThrow(/b\.png: the recipe makes a sample of shape \(3, 22, 90\), .*a\.png gives \(3, 24, 32\); add resize=…/);
    await expect(loadData(dir, image, { preprocess: ['resize=20x20'] })).rejects.toThrow(/a\.png: the recipe \(--preprocess 'resize=20x20'\) makes samples of shape \(3, 20, 20\), the model's input 'x' is \(N, 3, 16, 16\)/);
    fs.writeFileSync(path.join(dir, 'c.png'), 'not a png');
    await expect(loadData(dir, image)).rejects.toThrow(/c\.png: not an image tbn can read/);
    const cut = folder({ 'a.png': 'rgb.png' });
    const bytes = fs.readFileSync(media('photo.jpg'));
    fs.writeFileSync(path.join(cut, 'b.jpg'), bytes.subarray(0, bytes.length - 300));
    const ds = await loadData(cut, image);
    await expect(readAll(ds)).rejects.toThrow(/b\.jpg: corrupt or unreadable image/);
    await expect(loadData(dir, inputsModel({ a: ['N', 3, 16, 16], b: ['N', 4] }))).rejects.toThrow(/the model has inputs a, b; say which one the recipe is for|gets no data/);
  });

  it('multi-input models: a list file with a column per input, constants by fill=', async () => {
    const dir = folder({ 'a.png': 'rgb.png', 'b.png': 'gray.png', 't.wav': 'tone16.wav' });
    fs.writeFileSync(path.join(dir, 'list.tsv'), 'a.png\tt.wav\t1\nb.png\tt.wav\t0\n');
    const m = inputsModel({ img: ['N', 3, 16, 16], wav: ['N', 1, 1600], scale: ['N', 2] });
    const ds = await loadData(path.join(dir, 'list.tsv'), m, { preprocess: ['input=img,resize=16x16', 'input=wav,length=1600', 'input=scale,fill=0.5'] });
    const b = await readAll(ds);
    expect(b.feeds.img!.dims).toEqual([2, 3, 16, 16]);
    expect(b.feeds.wav!.dims).toEqual([2, 1, 1600]);
    expect(Array.from(b.feeds.scale!.data as Float32Array)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(Array.from(b.labels!.data as BigInt64Array, Number)).toEqual([1, 0]);
  });

  it('audio: resampled, mixed down, cut into windows, as log-mel features', async () => {
    const dir = folder({ 'x/a.wav': 'tone16.wav', 'y/b.wav': 'stereo24.wav', 'y/c.wav': 'float32.wav' });
    const m = inputsModel({ mel: ['N', 1, 40, 26] });
    const ds = await loadData(dir, m, { preprocess: ['rate=16000,length=4000,crop=windows,stride=2000,features=logmel,n_mels=40,win=400,hop=160'] });
    // tone16: 4000 samples → 1 window; the two 0.05 s files (800 samples at 16 kHz) one padded window each.
    expect(ds.count).toBe(3);
    const b = await readAll(ds);
    expect(b.feeds.mel!.dims).toEqual([3, 1, 40, 26]);
    expect(Array.from(b.labels!.data as BigInt64Array, Number)).toEqual([0, 1, 1]);
    const wave = await loadData(dir, inputsModel({ w: ['N', 800] }), { preprocess: ['rate=8000'] });
    expect(wave.notes.join('\n')).toMatch(/length=800/);
  });
});
