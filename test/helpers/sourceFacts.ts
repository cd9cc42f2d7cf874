import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { packageRoot } from '../../src/packageRoot.js';

/*
 * Facts about src/ that the architecture test holds and the closing note
 * quotes: import cycles (type-only included), folder cycles, function sizes,
 * where subprocesses start and the environment is read, long lines.
 */

export interface SourceFile {
  path: string; // relative to src/, e.g. 'lab/deploy.ts'
  text: string;
  imports: string[]; // src-relative paths of local imports, type-only included
  lines: number;
}

export interface FunctionSize {
  file: string;
  name: string;
  line: number;
  lines: number;
}

const srcRoot = () => join(packageRoot(), 'src');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

function localImports(sf: ts.SourceFile, abs: string, root: string): string[] {
  const out: string[] = [];
  const add = (spec: string) => {
    if (!spec.startsWith('.')) return;
    const target = resolve(dirname(abs), spec).replace(/\.js$/, '.ts');
    out.push(relative(root, target));
  };
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) add(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) add(arg.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const lit = node.argument.literal;
      if (ts.isStringLiteral(lit)) add(lit.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

export function sourceFiles(root = srcRoot()): SourceFile[] {
  return walk(root).map((abs) => {
    const text = readFileSync(abs, 'utf8');
    const sf = ts.createSourceFile(abs, text, ts.ScriptTarget.ES2022, true);
    return { path: relative(root, abs), text, imports: localImports(sf, abs, root), lines: text.split('\n').length };
  });
}

/** Strongly connected components with more than one member (Tarjan). */
export function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return out;
}

export function fileGraph(files: SourceFile[]): Map<string, Set<string>> {
  return new Map(files.map((f) => [f.path, new Set(f.imports)]));
}

/** A file's folder: its first path segment ('lab', 'images', …; '.' for src/ itself). */
export const folderOf = (path: string) => (path.includes('/') ? path.split('/')[0]! : '.');

/** A file's directory: 'lab/state' for 'lab/state/labScan.ts'. */
export const dirOf = (path: string) => (path.includes('/') ? dirname(path) : '.');

/** Imports between folders, at the top level (`folderOf`) or between every directory (`dirOf`). */
export function folderGraph(files: SourceFile[], of = folderOf): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const f of files) {
    const from = of(f.path);
    const set = g.get(from) ?? new Set<string>();
    for (const i of f.imports) if (of(i) !== from) set.add(of(i));
    g.set(from, set);
  }
  return g;
}

/**
 * Directory imports, less a room's use of its parent's leaves: lab/node may
 * import lab/labError.ts, api/routes api/httpError.ts, as long as that file
 * imports nothing from the room. Everything else between directories counts.
 */
export function roomGraph(files: SourceFile[]): Map<string, Set<string>> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const g = new Map<string, Set<string>>();
  for (const f of files) {
    const from = dirOf(f.path);
    const set = g.get(from) ?? new Set<string>();
    for (const i of f.imports) {
      const to = dirOf(i);
      if (to === from) continue;
      const parentLeaf =
        (to === '.' || from.startsWith(`${to}/`)) &&
        !(byPath.get(i)?.imports ?? []).some((j) => j.startsWith(`${from}/`));
      if (!parentLeaf) set.add(to);
    }
    g.set(from, set);
  }
  return g;
}

export function functionSizes(files: SourceFile[]): FunctionSize[] {
  const out: FunctionSize[] = [];
  for (const f of files) {
    const sf = ts.createSourceFile(f.path, f.text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node) => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        const named = (node as { name?: ts.Node }).name;
        let name = named ? named.getText(sf) : '';
        if (!name && ts.isVariableDeclaration(node.parent)) name = node.parent.name.getText(sf);
        out.push({ file: f.path, name: name || '(anonymous)', line: start + 1, lines: end - start + 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out.sort((a, b) => b.lines - a.lines);
}

/** Files that start subprocesses themselves (import from node:child_process). */
export const spawnFiles = (files: SourceFile[]) =>
  files.filter((f) => /from ['"](node:)?child_process['"]/.test(f.text)).map((f) => f.path);

export const envFiles = (files: SourceFile[]) => files.filter((f) => /process\.env\b/.test(f.text)).map((f) => f.path);

export const longLines = (files: SourceFile[], max = 120) =>
  files.flatMap((f) =>
    f.text
      .split('\n')
      .map((l, i) => ({ file: f.path, line: i + 1, length: l.length }))
      .filter((l) => l.length > max),
  );

function report() {
  const files = sourceFiles();
  const lab = files.filter((f) => f.path.startsWith('lab/'));
  const labFlat = lab.filter((f) => f.path.split('/').length === 2);
  const images = files.filter((f) => f.path.startsWith('images/'));
  const total = files.reduce((n, f) => n + f.lines, 0);
  const sizes = functionSizes(files);
  console.log(`src: ${files.length} files, ${total} lines`);
  console.log(`file cycles: ${JSON.stringify(cycles(fileGraph(files)))}`);
  console.log(`folder cycles: ${JSON.stringify(cycles(folderGraph(files)))}`);
  console.log(`directory cycles: ${JSON.stringify(cycles(folderGraph(files, dirOf)))}`);
  console.log(`room cycles (a room may use its parent's leaves): ${JSON.stringify(cycles(roomGraph(files)))}`);
  console.log(`lab: ${lab.length} files (${labFlat.length} flat), ${lab.reduce((n, f) => n + f.lines, 0)} lines`);
  console.log(`lab flat > 300: ${labFlat.filter((f) => f.lines > 300).map((f) => `${f.path} ${f.lines}`)}`);
  console.log(`images: ${images.length} files, ${images.reduce((n, f) => n + f.lines, 0)} lines`);
  console.log(`functions > 120 lines: ${JSON.stringify(sizes.filter((s) => s.lines > 120))}`);
  console.log(`largest functions: ${JSON.stringify(sizes.slice(0, 5))}`);
  console.log(`child_process importers (${spawnFiles(files).length}): ${spawnFiles(files).join(' ')}`);
  console.log(`process.env readers (${envFiles(files).length}): ${envFiles(files).join(' ')}`);
  const long = longLines(files);
  console.log(`lines > 120: ${long.length}, > 160: ${long.filter((l) => l.length > 160).length}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) report();
