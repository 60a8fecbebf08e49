/**
 * The subset of the ONNX protobuf schema (onnx.proto, IR version 8) this package writes and reads, declared here
 * as a protobufjs reflection tree. Field numbers are those of the public onnx.proto; only the messages and fields
 * the exporter emits or the loader inspects are declared (protobuf readers skip the rest).
 */
import protobuf from 'protobufjs/light.js';

/** ONNX element types used here (TensorProto.DataType). */
export const OnnxDataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type OnnxDataTypeCode = (typeof OnnxDataType)[keyof typeof OnnxDataType];

/** AttributeProto.AttributeType codes used here. */
export const OnnxAttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** A TensorProto with inline little-endian data. */
export interface TensorProtoData {
  name: string;
  dims: number[];
  dataType: OnnxDataTypeCode;
  rawData: Uint8Array;
}

/** One attribute of a node. */
export interface AttributeProtoData {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProtoData;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

/** One operator node. */
export interface NodeProtoData {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute: AttributeProtoData[];
  domain?: string;
}

/** One dimension: a fixed size or a symbolic name. */
export type DimData = { dimValue: number } | { dimParam: string };

/** A graph input or output: name, float tensor type and shape. */
export interface ValueInfoProtoData {
  name: string;
  type: { tensorType: { elemType: OnnxDataTypeCode; shape: { dim: DimData[] } } };
  docString?: string;
}

/** A whole graph. */
export interface GraphProtoData {
  name: string;
  node: NodeProtoData[];
  initializer: TensorProtoData[];
  input: ValueInfoProtoData[];
  output: ValueInfoProtoData[];
  docString?: string;
}

/** A key/value pair of `metadata_props`. */
export interface StringStringEntry {
  key: string;
  value: string;
}

/** A whole model. */
export interface ModelProtoData {
  irVersion: number;
  opsetImport: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: GraphProtoData;
  metadataProps: StringStringEntry[];
}

/** Field numbers of ModelProto that the loader reads without decoding the whole model. */
export const MODEL_FIELD = { irVersion: 1, producerName: 2, graph: 7, opsetImport: 8, metadataProps: 14 } as const;

const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: {
          fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
            type: { type: 'int32', id: 20 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            docString: { type: 'string', id: 6 },
            domain: { type: 'string', id: 7 },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } },
            },
          },
        },
        TypeProto: {
          fields: { tensorType: { type: 'Tensor', id: 1 } },
          nested: {
            Tensor: {
              fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } },
            },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'TypeProto', id: 2 },
            docString: { type: 'string', id: 3 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            docString: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
      },
    },
  },
};

let root: protobuf.Root | null = null;

function types(): { model: protobuf.Type; entry: protobuf.Type } {
  root ??= protobuf.Root.fromJSON(SCHEMA);
  return { model: root.lookupType('onnx.ModelProto'), entry: root.lookupType('onnx.StringStringEntryProto') };
}

/**
 * A plain Uint8Array with its own memory. In Node protobufjs returns a Buffer, possibly a slice of a shared pool,
 * and Buffer#slice shares memory where Uint8Array#slice copies: callers must get the standard semantics.
 */
function ownBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

/** Encodes a model to the ONNX protobuf wire format. */
export function encodeModelProto(model: ModelProtoData): Uint8Array {
  const { model: type } = types();
  return ownBytes(type.encode(type.fromObject(model as unknown as Record<string, unknown>)).finish());
}

/** Decodes a whole model (used by tests and tools; the loader uses {@link scanModelProto}). */
export function decodeModelProto(bytes: Uint8Array): ModelProtoData {
  const { model: type } = types();
  return type.toObject(type.decode(bytes), {
    longs: Number,
    bytes: Uint8Array as unknown as typeof String,
    defaults: true,
    arrays: true,
  }) as ModelProtoData;
}

/** The top-level facts the loader needs, found by walking the wire format without decoding the graph. */
export interface ModelProtoScan {
  irVersion: number | null;
  producerName: string | null;
  opsetImport: { domain: string; version: number }[];
  metadataProps: StringStringEntry[];
  /** Byte range [start, end) of the serialized GraphProto inside the model bytes. */
  graphRange: [number, number] | null;
}

/**
 * Walks the top-level fields of a ModelProto. Throws protobufjs' own errors on malformed or truncated input
 * (the caller turns them into a DataError).
 */
export function scanModelProto(bytes: Uint8Array): ModelProtoScan {
  const { entry } = types();
  const opset = root!.lookupType('onnx.OperatorSetIdProto');
  const reader = protobuf.Reader.create(bytes);
  const scan: ModelProtoScan = {
    irVersion: null,
    producerName: null,
    opsetImport: [],
    metadataProps: [],
    graphRange: null,
  };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw new Error('invalid field number 0');
    if (field === MODEL_FIELD.irVersion && wire === 0) {
      scan.irVersion = Number(reader.int64().toString());
    } else if (field === MODEL_FIELD.producerName && wire === 2) {
      scan.producerName = reader.string();
    } else if (field === MODEL_FIELD.graph && wire === 2) {
      const len = reader.uint32();
      const start = reader.pos;
      if (start + len > reader.len)
        throw new Error(`graph field runs past the end of the data (${start + len} > ${reader.len})`);
      scan.graphRange = [start, start + len];
      reader.skip(len);
    } else if (field === MODEL_FIELD.opsetImport && wire === 2) {
      const o = opset.toObject(opset.decode(reader.bytes()), { longs: Number, defaults: true }) as {
        domain: string;
        version: number;
      };
      scan.opsetImport.push(o);
    } else if (field === MODEL_FIELD.metadataProps && wire === 2) {
      const e = entry.toObject(entry.decode(reader.bytes()), { defaults: true }) as StringStringEntry;
      scan.metadataProps.push(e);
    } else {
      reader.skipType(wire);
    }
  }
  return scan;
}

/** Encodes a GraphProto alone (what the checksum covers is the graph's bytes as written inside the model). */
export function encodeGraphProto(graph: GraphProtoData): Uint8Array {
  const type = (root ??= protobuf.Root.fromJSON(SCHEMA)).lookupType('onnx.GraphProto');
  return ownBytes(type.encode(type.fromObject(graph as unknown as Record<string, unknown>)).finish());
}
