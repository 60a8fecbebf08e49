import { DataError } from './errors';
import { parseConfig, type z } from './config';
import type { Block } from './blocks/block';

/** What is needed to rebuild a block: its registry name and its resolved config. */
export interface BlockSpec {
  className: string;
  config: unknown;
}

type AnyBlock = Block<unknown, unknown, unknown>;
type Factory = (config: unknown) => AnyBlock;

const factories = new Map<string, Factory>();

/**
 * Registers the factory of a block class under its stable name, so {@link deserializeBlock} can rebuild it from
 * JSON. Each package registers its blocks when imported. Registering the same name twice replaces the factory
 * (a package loaded twice by a bundler must not crash).
 *
 * @example
 * registerBlock('head-seg/SegHead', (cfg) => createSegHead(cfg as SegHeadConfigInput));
 */
export function registerBlock(className: string, factory: (config: never) => Block<unknown, unknown, unknown>): void {
  factories.set(className, factory as Factory);
}

/**
 * The `create*` factory of a block class: validates the config once with `schema` (a ConfigError names the field,
 * `what` the config) and constructs the block; the factory is registered under `className` (see
 * {@link registerBlock}).
 *
 * @example
 * export const createGateHead = blockFactory(GATE_HEAD_CLASS_NAME, GateHeadConfigSchema, 'gate head config', (c) => new GateHeadImpl(c));
 */
export function blockFactory<S extends z.ZodType, B extends AnyBlock>(
  className: string,
  schema: S,
  what: string,
  construct: (config: z.output<S>) => B,
): (config: z.input<S>) => B {
  const create = (config: z.input<S>): B => construct(parseConfig(schema, config, what));
  registerBlock(className, create);
  return create;
}

/** The registered block names, sorted. */
export function registeredBlocks(): string[] {
  return [...factories.keys()].sort();
}

/** The JSON spec of a block: `{ className, config }`. */
export function serializeBlock(block: Block<unknown, unknown, unknown>): BlockSpec {
  return { className: block.className, config: JSON.parse(JSON.stringify(block.config)) as unknown };
}

/**
 * Rebuilds a block from its JSON spec (weights freshly initialised; load them with `loadBlockWeights`).
 * Fails with a DataError that lists the known names if the class is not registered (its package not imported).
 */
export function deserializeBlock<B extends Block<unknown, unknown, unknown> = AnyBlock>(spec: BlockSpec): B {
  if (spec === null || typeof spec !== 'object' || typeof spec.className !== 'string') {
    throw new DataError('Not a block spec', {
      expected: '{ className: string, config: object }',
      found: JSON.stringify(spec),
    });
  }
  const factory = factories.get(spec.className);
  if (factory === undefined) {
    throw new DataError('Unknown block class; import the package that defines it first', {
      field: 'className',
      expected: `one of ${registeredBlocks().join(', ') || '(none registered)'}`,
      found: spec.className,
    });
  }
  return factory(spec.config) as B;
}
