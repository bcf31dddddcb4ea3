import type { DescEnum, DescEnumValue, DescField, DescFile, DescMessage, DescMethod, DescOneof, DescService } from '@bufbuild/protobuf';

/** Anything of a .proto file that can carry a comment. */
export type Commented = DescMessage | DescField | DescOneof | DescEnum | DescEnumValue | DescService | DescMethod;

// Field numbers in descriptor.proto that make up source-info paths.
const FILE_MESSAGE = 4;
const FILE_ENUM = 5;
const FILE_SERVICE = 6;
const MESSAGE_FIELD = 2;
const MESSAGE_NESTED = 3;
const MESSAGE_ENUM = 4;
const MESSAGE_ONEOF = 8;
const ENUM_VALUE = 2;
const SERVICE_METHOD = 2;

/**
 * The leading comments of a descriptor set's elements, read from the source
 * code info that `buf build` keeps (unless told `--exclude-source-info`).
 * Each comment is unindented and trimmed; undefined when there is none.
 */
export class ProtoComments {
  private readonly byFile = new Map<DescFile, Map<string, string>>();

  of(desc: Commented): string | undefined {
    const file = desc.kind === 'field' || desc.kind === 'oneof' ? desc.parent.file : desc.kind === 'enum_value' ? desc.parent.file : desc.kind === 'rpc' ? desc.parent.file : desc.file;
    return this.commentsOf(file).get(pathOf(desc).join('.'));
  }

  private commentsOf(file: DescFile): Map<string, string> {
    let comments = this.byFile.get(file);
    if (!comments) {
      comments = new Map();
      for (const location of file.proto.sourceCodeInfo?.location ?? []) {
        const text = clean(location.leadingComments ?? '');
        if (text) comments.set(location.path.join('.'), text);
      }
      this.byFile.set(file, comments);
    }
    return comments;
  }
}

function pathOf(desc: Commented): number[] {
  switch (desc.kind) {
    case 'message':
      return desc.parent ? [...pathOf(desc.parent), MESSAGE_NESTED, desc.parent.proto.nestedType.indexOf(desc.proto)] : [FILE_MESSAGE, desc.file.proto.messageType.indexOf(desc.proto)];
    case 'field':
      return [...pathOf(desc.parent), MESSAGE_FIELD, desc.parent.proto.field.indexOf(desc.proto)];
    case 'oneof':
      return [...pathOf(desc.parent), MESSAGE_ONEOF, desc.parent.proto.oneofDecl.indexOf(desc.proto)];
    case 'enum':
      return desc.parent ? [...pathOf(desc.parent), MESSAGE_ENUM, desc.parent.proto.enumType.indexOf(desc.proto)] : [FILE_ENUM, desc.file.proto.enumType.indexOf(desc.proto)];
    case 'enum_value':
      return [...pathOf(desc.parent), ENUM_VALUE, desc.parent.proto.value.indexOf(desc.proto)];
    case 'service':
      return [FILE_SERVICE, desc.file.proto.service.indexOf(desc.proto)];
    case 'rpc':
      return [...pathOf(desc.parent), SERVICE_METHOD, desc.parent.proto.method.indexOf(desc.proto)];
  }
}

/** A comment without the space after `//` on each line, and without blank lines at either end. */
function clean(comment: string): string {
  return comment
    .split('\n')
    .map((line) => line.replace(/^ /, '').trimEnd())
    .join('\n')
    .trim();
}
