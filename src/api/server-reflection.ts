import { create, fromBinary, toBinary, type DescMessage, type Message, type Registry } from '@bufbuild/protobuf';
import { status as Code, type ServerDuplexStream, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ReflectionFiles } from './reflection-files';
import { toStatusError } from './status';

/** The reflection versions served: the same protocol under two packages. */
export const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'] as const;

type Request =
  | { case: 'fileByFilename' | 'fileContainingSymbol' | 'allExtensionNumbersOfType' | 'listServices'; value: string }
  | { case: 'fileContainingExtension'; value: { containingType: string; extensionNumber: number } }
  | { case: undefined; value?: undefined };

interface ReflectionRequest extends Message {
  host: string;
  messageRequest: Request;
}

/** Which files a caller may see (see `TypedApis`); resolved once per stream. */
export type ReflectionView = (authorization: string | undefined) => Promise<(fileName: string) => boolean>;

/** A request that did not decode; answered with an error on the stream. */
class Undecodable {
  constructor(readonly reason: string) {}
}

type Answer = Record<string, unknown>;

function notFound(what: string): Answer {
  return { case: 'errorResponse', value: { errorCode: Code.NOT_FOUND, errorMessage: `not found: ${what}` } };
}

/**
 * One reflection answer. Files come as compiled, the requested one first,
 * then every file it imports directly or not, so a client can build its
 * descriptor pool from the answer alone.
 */
export function answer(files: ReflectionFiles, visible: (fileName: string) => boolean, request: Request): Answer {
  const withDependencies = (name: string | undefined, what: string): Answer =>
    name !== undefined && visible(name)
      ? { case: 'fileDescriptorResponse', value: { fileDescriptorProto: files.withDependencies(name) } }
      : notFound(what);
  switch (request.case) {
    case 'listServices':
      return { case: 'listServicesResponse', value: { service: files.services().filter((s) => visible(s.file)).map((s) => ({ name: s.name })) } };
    case 'fileByFilename':
      return withDependencies(files.has(request.value) ? request.value : undefined, `file ${request.value}`);
    case 'fileContainingSymbol':
      return withDependencies(files.fileOfSymbol(request.value), `symbol ${request.value}`);
    case 'fileContainingExtension': {
      const { containingType, extensionNumber } = request.value;
      return withDependencies(files.fileOfExtension(containingType, extensionNumber), `extension ${extensionNumber} of ${containingType}`);
    }
    case 'allExtensionNumbersOfType': {
      const file = files.fileOfSymbol(request.value);
      const numbers = file !== undefined && visible(file) ? files.extensionNumbers(request.value) : undefined;
      if (!numbers) return notFound(`type ${request.value}`);
      return { case: 'allExtensionNumbersResponse', value: { baseTypeName: request.value, extensionNumber: numbers } };
    }
    default:
      return { case: 'errorResponse', value: { errorCode: Code.INVALID_ARGUMENT, errorMessage: 'the request names no message_request' } };
  }
}

/**
 * grpc.reflection.v1 and v1alpha served straight from the compiled
 * descriptors (`ReflectionFiles`): the original files, names, options and
 * dependencies, so strict clients (descriptor pools in Python, Java, Go;
 * grpcurl, Postman) accept them. `view` decides per stream what the caller
 * sees; when it throws, the stream ends with its status.
 */
export function serverReflection(
  registry: Registry,
  files: ReflectionFiles,
  view: ReflectionView,
): { definition: ServiceDefinition; implementation: UntypedServiceImplementation }[] {
  return REFLECTION_SERVICES.map((service) => {
    const pkg = service.slice(0, service.lastIndexOf('.'));
    const requestDesc = registry.getMessage(`${pkg}.ServerReflectionRequest`) as DescMessage;
    const responseDesc = registry.getMessage(`${pkg}.ServerReflectionResponse`) as DescMessage;
    const definition: ServiceDefinition = {
      ServerReflectionInfo: {
        path: `/${service}/ServerReflectionInfo`,
        requestStream: true,
        responseStream: true,
        requestSerialize: (m: Message) => Buffer.from(toBinary(requestDesc, m)),
        // Never throws (grpc-js would answer INTERNAL): a bad request is answered on the stream.
        requestDeserialize: (b: Buffer) => {
          try {
            return fromBinary(requestDesc, b);
          } catch (err) {
            return new Undecodable((err as Error).message);
          }
        },
        responseSerialize: (m: Message) => Buffer.from(toBinary(responseDesc, m)),
        responseDeserialize: (b: Buffer) => fromBinary(responseDesc, b),
        originalName: 'serverReflectionInfo',
      },
    };
    const implementation: UntypedServiceImplementation = {
      ServerReflectionInfo: (call: ServerDuplexStream<ReflectionRequest | Undecodable, Message>) => {
        const authorization = call.metadata.get('authorization')[0];
        const seen = view(typeof authorization === 'string' ? authorization : undefined);
        let failed = false;
        // Answers go out in the order of the requests, once the caller's view is known.
        let queue: Promise<unknown> = seen.catch((err: unknown) => {
          failed = true;
          const status = toStatusError(err);
          call.emit('error', { code: status.code, details: status.message });
        });
        call.on('data', (request: ReflectionRequest | Undecodable) => {
          queue = queue.then(async () => {
            if (failed) return;
            const visible = await seen;
            if (request instanceof Undecodable) {
              call.write(
                create(responseDesc, {
                  messageResponse: { case: 'errorResponse', value: { errorCode: Code.INVALID_ARGUMENT, errorMessage: `the request is not a ServerReflectionRequest: ${request.reason}` } },
                } as never),
              );
              return;
            }
            call.write(
              create(responseDesc, {
                validHost: request.host,
                originalRequest: request,
                messageResponse: answer(files, visible, request.messageRequest),
              } as never),
            );
          });
        });
        call.on('end', () => {
          queue = queue.then(() => {
            if (!failed) call.end();
          });
        });
      },
    };
    return { definition, implementation };
  });
}
