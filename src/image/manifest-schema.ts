// The shape of a builds folder's manifest.json, as JSON Schema (draft-07); docs/manifest.schema.json is this object.
// The kinds and the fields each must or must not carry come from the table of artifact kinds.
import { ARTIFACT_KINDS, KIND_NAMES } from './artifact-kinds.js';

const sha256Hex = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
// A name sha256sum -c can read back as is, and that stays inside the builds folder.
const artifactName = { type: 'string', pattern: '^(?!\\.\\.?$)[^/\\\\\\n\\r\\u0000]+$' } as const;
const text = { type: 'string', minLength: 1 } as const;

const pkg = {
  type: 'object',
  required: ['name', 'version', 'arch'],
  additionalProperties: false,
  properties: { name: text, version: text, arch: text },
} as const;

/** JSON Schema (draft-07) of manifest.json. */
export const manifestSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'imgplay builds manifest',
  description: 'What each artifact in an imgplay builds folder is, how it was made and from what.',
  type: 'object',
  required: ['schemaVersion', 'artifacts'],
  additionalProperties: false,
  properties: {
    schemaVersion: { const: 1 },
    artifacts: { type: 'array', items: { $ref: '#/definitions/artifact' } },
  },
  definitions: {
    package: pkg,
    artifact: {
      type: 'object',
      required: ['name', 'kind', 'size', 'sha256', 'inputsDigest', 'builtAt', 'imgplayVersion'],
      additionalProperties: false,
      properties: {
        name: { ...artifactName, description: 'File name in the builds folder.' },
        kind: { enum: KIND_NAMES },
        size: { type: 'integer', minimum: 0, description: 'Bytes.' },
        sha256: { ...sha256Hex, description: 'Of the file, as in SHA256SUMS.' },
        release: { ...text, description: 'Debian release, e.g. bookworm.' },
        arch: { ...text, description: 'Debian architecture, e.g. amd64.' },
        kernelVersion: { ...text, description: 'e.g. 6.1.0-28-amd64.' },
        packages: { type: 'array', items: { $ref: '#/definitions/package' }, description: 'Installed packages (dpkg status), sorted by name.' },
        packageDelta: {
          type: 'object',
          description: "An overlay's packages against its base's.",
          required: ['added', 'removed', 'changed'],
          additionalProperties: false,
          properties: {
            added: { type: 'array', items: { $ref: '#/definitions/package' } },
            removed: { type: 'array', items: { $ref: '#/definitions/package' } },
            changed: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name', 'arch', 'from', 'to'],
                additionalProperties: false,
                properties: { name: text, arch: text, from: text, to: text },
              },
            },
          },
        },
        inputsDigest: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$', description: 'Digest of what the stage was built from.' },
        base: {
          type: 'object',
          description: 'The base image an overlay was built over.',
          required: ['name', 'sha256'],
          additionalProperties: false,
          properties: { name: artifactName, sha256: sha256Hex },
        },
        buildSeconds: { type: 'number', minimum: 0, description: 'Wall-clock seconds; only without a SOURCE_DATE_EPOCH.' },
        builtAt: {
          type: 'string',
          description: 'ISO 8601 UTC: SOURCE_DATE_EPOCH, or without one the time the artifact was finished.',
          pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$',
        },
        sourceDateEpoch: { type: 'integer', minimum: 0, description: 'The SOURCE_DATE_EPOCH every time in the artifact is pinned to.' },
        varies: { type: 'array', minItems: 1, items: text, description: 'What may differ between two builds of the same inputs, and why.' },
        imgplayVersion: text,
        gitCommit: { type: 'string', pattern: '^[0-9a-f]{40}([0-9a-f]{24})?$', description: "HEAD of the playbooks' git repository." },
        dirty: { const: true, description: 'The playbooks repository had uncommitted changes.' },
      },
      allOf: [
        ...KIND_NAMES.map((kind) => {
          const k: { requiredFields: readonly string[]; forbiddenFields: readonly string[] } = ARTIFACT_KINDS[kind];
          return {
            if: { properties: { kind: { const: kind } } },
            then: { required: k.requiredFields, properties: Object.fromEntries(k.forbiddenFields.map((f) => [f, false])) },
          };
        }),
        { if: { required: ['dirty'] }, then: { required: ['gitCommit'] } },
      ],
    },
  },
} as const;
