#!/usr/bin/env node
// Lists the public API whose doc comment does not state a tensor shape on its first line although a tensor passes
// through it (STYLE.md: "The first line of every exported doc comment states the tensor shape and layout").
// Walks what each package's src/index.ts exports: functions, classes and interfaces with their methods and
// properties, variables. A declaration "involves a tensor" when a parameter or result type names a tfjs tensor
// (Tensor, Tensor1D..Tensor4D, Scalar, SymbolicTensor, or EncoderFeatures, whose members are tensors). Weight
// collections (Variable, LayerVariable) are left out: each variable has its layer's shape, there is no one shape
// to state. A first line "states a shape" when it holds a bracketed dimension list such as [B, H, W, 1], or says
// "scalar".
//
//   node tools/release/check-doc-shapes.mjs [package ...]   exit 1 when something lacks its shape line
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { publishedPackageDirs } from './lib/pack.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PUBLISHED = publishedPackageDirs(root);
const selected = process.argv.slice(2).length > 0 ? process.argv.slice(2) : PUBLISHED;
const TENSOR_TYPE = /\b(Tensor[1-6]?D?|Scalar|SymbolicTensor|EncoderFeatures|AnyTensor)\b/;
/** A dimension list: [B, H, W, 1], [N, 4], [B], [] (scalar), [S, S] ... */
const SHAPE = /\[(?:\s*|[^\]\[]*[A-Za-z0-9?.*+\-\u00d7x][^\]\[]*)\]/;

const base = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8'));
const { options } = ts.convertCompilerOptionsFromJson({ ...base.compilerOptions, noEmit: true }, root);
const entries = selected.map((p) => join(root, 'packages', p, 'src', 'index.ts')).filter((f) => existsSync(f));
const program = ts.createProgram(entries, options);
const checker = program.getTypeChecker();

function firstLine(symbol) {
  const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  return text.split('\n')[0] ?? '';
}

function involvesTensor(decl) {
  const parts = [];
  if (ts.isFunctionLike(decl)) {
    for (const p of decl.parameters) parts.push(p.type ? p.type.getText() : '');
    if (decl.type) parts.push(decl.type.getText());
  } else if (
    (ts.isPropertySignature(decl) || ts.isPropertyDeclaration(decl) || ts.isVariableDeclaration(decl)) &&
    decl.type
  ) {
    parts.push(decl.type.getText());
  }
  return parts.some((t) => TENSOR_TYPE.test(t));
}

const problems = [];
function check(symbol, name, decl, pkg) {
  if (!involvesTensor(decl)) return;
  const line = firstLine(symbol);
  if (SHAPE.test(line) || /\bscalar\b/i.test(line)) return;
  const sf = decl.getSourceFile();
  const { line: row } = sf.getLineAndCharacterOfPosition(decl.getStart());
  problems.push({ pkg, name, where: `${relative(root, sf.fileName)}:${row + 1}`, line: line || '(no doc comment)' });
}

for (const entry of entries) {
  const pkg = relative(join(root, 'packages'), entry).split('/')[0];
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry));
  for (const exported of checker.getExportsOfModule(module)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    for (const decl of symbol.declarations ?? []) {
      // Only this workspace's declarations (zod's `z` and tfjs's `tf` are re-exported from core).
      if (!decl.getSourceFile().fileName.startsWith(join(root, 'packages'))) continue;
      if (ts.isFunctionDeclaration(decl) || ts.isVariableDeclaration(decl)) check(symbol, exported.name, decl, pkg);
      if (ts.isInterfaceDeclaration(decl) || ts.isClassDeclaration(decl)) {
        for (const member of decl.members) {
          if (
            !member.name ||
            ts.getCombinedModifierFlags(member) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)
          )
            continue;
          const memberSymbol = checker.getSymbolAtLocation(member.name);
          if (memberSymbol) check(memberSymbol, `${exported.name}.${member.name.getText()}`, member, pkg);
        }
      }
    }
  }
}

for (const p of problems) console.log(`${p.where}  ${p.pkg}: ${p.name}  "${p.line.slice(0, 90)}"`);
console.log(
  `${problems.length} exported declaration(s) with a tensor and no shape on the first doc line (${selected.join(', ')})`,
);
process.exit(problems.length > 0 ? 1 : 0);
