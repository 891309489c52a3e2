// The import rules of src/ (docs/contributing.md, "Layers"): imports go down only, and no file imports
// itself round a cycle. Checked by test/unit/imports.test.ts in `npm test`; by hand: `npm run check:imports`.

/** The layers from the top down; folders in one row are peers and may not import each other. */
const LAYERS = [
  [['commands', '^src/cli\\.ts$|^src/doctor/|^src/(?!modules/)[^/]+/command\\.ts$']],
  [['run', '^src/run/'], ['serve', '^src/serve/'], ['diff', '^src/diff/']],
  [['report', '^src/report/'], ['boot', '^src/boot/']],
  [['playbook', '^src/playbook/']],
  [['modules', '^src/modules/'], ['inventory', '^src/inventory/']],
  [['image', '^src/image/'], ['connection', '^src/connection/'], ['jinja', '^src/jinja/']],
  [['host', '^src/host/']],
  [['yaml', '^src/yaml/']],
  [['errors', '^src/errors\\.ts$']],
];

// A CLI command is command.ts in its concern's folder (serve/, boot/, doc/) and belongs to the top layer, not
// to its folder's; modules/command.ts is Ansible's command module, not a CLI command.
const COMMAND = '^src/(?!modules/)[^/]+/command\\.ts$';

const layerRules = LAYERS.flatMap((row, rank) =>
  row.map(([name, path]) => {
    const above = LAYERS.slice(0, rank).flat();
    const peers = row.filter(([other]) => other !== name);
    const forbidden = [...above, ...peers];
    return {
      name: `imports-go-down:${name}`,
      comment: `${name} may import only from its own folder and the layers below it; it may not import ${forbidden.map(([n]) => n).join(', ')} (docs/contributing.md, "Layers")`,
      severity: 'error',
      from: name === 'commands' ? { path } : { path, pathNot: COMMAND },
      to: { path: forbidden.map(([, p]) => `(${p})`).join('|') },
    };
  }),
).filter((rule) => rule.to.path !== '');

const ANY_LAYER = LAYERS.flat().map(([, path]) => `(${path})`).join('|');
const IN_A_LAYER = 'every file of src/ belongs to a layer: add its folder to LAYERS in .dependency-cruiser.cjs and to the table in docs/contributing.md';

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'a file may not import itself through other files: cut the cycle by moving the shared piece into a file both can import',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'every-file-in-a-layer',
      comment: IN_A_LAYER,
      severity: 'error',
      from: { path: '^src/', pathNot: ANY_LAYER },
      to: {},
    },
    {
      name: 'every-import-in-a-layer',
      comment: IN_A_LAYER,
      severity: 'error',
      from: {},
      to: { path: '^src/', pathNot: ANY_LAYER },
    },
    ...layerRules,
  ],
  options: {
    // Type-only imports count: a lower layer that names a higher layer's types depends on it all the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
  },
};
