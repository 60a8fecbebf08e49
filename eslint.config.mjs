// Lint exists for one reason first: the package boundaries of DESIGN.md, enforced from real imports. It has no
// formatting rules: prettier owns formatting (.prettierrc.json; `npm run format:check` runs with lint in `npm test`),
// so eslint-config-prettier is not needed; add it last here if a formatting rule is ever turned on.
import nx from '@nx/eslint-plugin';
import tsParser from '@typescript-eslint/parser';

export default [
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.nx/**',
      'runs/**',
      '**/*.config.ts',
      'bench/**',
      'scripts/**',
      'apps/demo/public/**',
    ],
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts'],
    languageOptions: { parser: tsParser, ecmaVersion: 2022, sourceType: 'module' },
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'layer:core', onlyDependOnLibsWithTags: ['layer:core'] },
            { sourceTag: 'layer:encoder', onlyDependOnLibsWithTags: ['layer:core'] },
            { sourceTag: 'layer:head', onlyDependOnLibsWithTags: ['layer:core'] },
            { sourceTag: 'layer:gating', onlyDependOnLibsWithTags: ['layer:core'] },
            { sourceTag: 'layer:data', onlyDependOnLibsWithTags: ['layer:core'] },
            { sourceTag: 'layer:synth', onlyDependOnLibsWithTags: ['layer:core', 'layer:data'] },
            {
              sourceTag: 'layer:model',
              onlyDependOnLibsWithTags: ['layer:core', 'layer:encoder', 'layer:head', 'layer:gating'],
            },
            {
              sourceTag: 'layer:pretrained',
              onlyDependOnLibsWithTags: ['layer:core', 'layer:encoder', 'layer:head', 'layer:data'],
            },
            {
              sourceTag: 'layer:trainer',
              onlyDependOnLibsWithTags: [
                'layer:core',
                'layer:encoder',
                'layer:head',
                'layer:gating',
                'layer:data',
                'layer:synth',
                'layer:model',
              ],
            },
            {
              sourceTag: 'layer:transfer',
              onlyDependOnLibsWithTags: [
                'layer:core',
                'layer:encoder',
                'layer:head',
                'layer:gating',
                'layer:data',
                'layer:synth',
                'layer:model',
                'layer:trainer',
              ],
            },
            // The paper's Tables 1-4 sit above trainer and transfer; nothing below imports them.
            {
              sourceTag: 'layer:experiments',
              onlyDependOnLibsWithTags: [
                'layer:core',
                'layer:encoder',
                'layer:head',
                'layer:gating',
                'layer:data',
                'layer:synth',
                'layer:model',
                'layer:trainer',
                'layer:transfer',
              ],
            },
            // Inference without tfjs: runtime reads ONNX files and decodes them with the heads' tfjs-free decoders.
            { sourceTag: 'layer:runtime', onlyDependOnLibsWithTags: ['layer:core', 'layer:head', 'layer:data'] },
            // The tfjs -> ONNX exporter writes the files runtime reads.
            {
              sourceTag: 'layer:export',
              onlyDependOnLibsWithTags: ['layer:core', 'layer:head', 'layer:data', 'layer:model', 'layer:runtime'],
            },
            {
              sourceTag: 'layer:service',
              onlyDependOnLibsWithTags: ['layer:core', 'layer:head', 'layer:data', 'layer:synth', 'layer:runtime'],
            },
            {
              sourceTag: 'layer:app',
              onlyDependOnLibsWithTags: [
                'layer:core',
                'layer:encoder',
                'layer:head',
                'layer:gating',
                'layer:data',
                'layer:synth',
                'layer:model',
                'layer:pretrained',
                'layer:trainer',
                'layer:transfer',
                'layer:experiments',
                'layer:runtime',
                'layer:export',
                'layer:service',
              ],
            },
            {
              sourceTag: 'layer:web',
              onlyDependOnLibsWithTags: ['layer:core', 'layer:data', 'layer:synth', 'layer:runtime'],
            },
          ],
        },
      ],
    },
  },
];
