/**
 * Bad requests around how a Docker node's containers run (spec.docker.security
 * and configuration.gpu): capabilities beyond the allowlist, malformed users,
 * bad tmpfs mounts, words for privileged mode or host access the spec does not
 * have, GPUs the runtime cannot give. Each is refused with its code naming the
 * field, over gRPC and REST, on both databases, with nothing stored changed.
 */
import { status as Code } from '@grpc/grpc-js';
import { EndpointType } from '../../gen/berth/v1/node';
import { CreateNodeRequest, UpdateNodeRequest } from '../../gen/berth/v1/node_service';
import { badInputSuite, type BadCase, type Fixture } from '../helpers/bad-input-suite';
import { viaGrpc, viaRest, type Refusal } from '../helpers/refusals';

const BAD = Code.INVALID_ARGUMENT;
const S = 'node.spec.docker.security';

function cases(fx: Fixture): BadCase[] {
  const { c, folder, node } = fx;
  const out: BadCase[] = [];
  const add = (label: string, run: () => Promise<Refusal>, field: string | RegExp | undefined, code: Code, http?: number) =>
    out.push({ label, run, code, field, ...(http ? { http } : {}) });
  const r = (label: string, method: string, path: string, body: unknown, field: string | RegExp | undefined, code = BAD, http = 400) =>
    add(`REST ${label}`, () => viaRest(fx.http, method, path, body), field, code, http);
  const g = (label: string, method: string, request: unknown, field: string | RegExp | undefined, code = BAD) =>
    add(`gRPC ${label}`, () => viaGrpc(c.nodes, method, request), field, code);

  const endpoint = { type: 'ENDPOINT_TYPE_HTTP', port: 8080 };
  const restNode = (security: unknown, spec: Record<string, unknown> = {}) => ({
    folderId: folder.id,
    name: 'n1',
    spec: { docker: { image: 'berth-test-http:latest', endpoint, security }, ...spec },
  });
  const grpcNode = (security: Record<string, unknown>, spec: Record<string, unknown> = {}) =>
    CreateNodeRequest.fromPartial({
      node: {
        folderId: folder.id,
        name: 'n1',
        spec: { docker: { image: 'berth-test-http:latest', endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: 8080 }, security }, ...spec },
      },
    });
  /** CreateNode over both transports, and UpdateNode of the fixture node (REST with a mask on `security`, gRPC on the failing field's list). */
  const both = (label: string, security: Record<string, unknown>, field: string) => {
    r(`CreateNode ${label}`, 'POST', '/v1/nodes', restNode(security), field);
    g(`CreateNode ${label}`, 'createNode', grpcNode(security), field);
    r(`UpdateNode ${label}`, 'PATCH', `/v1/nodes/${node.id}?update_mask=spec.docker.security`, { spec: { docker: { security } } }, field);
    g(
      `UpdateNode ${label}`,
      'updateNode',
      UpdateNodeRequest.fromPartial({ node: { id: node.id, spec: { docker: { security } } }, updateMask: ['spec.docker.security'] }),
      field,
    );
  };

  // Capabilities: only Docker's defaults, NET_RAW, IPC_LOCK and SYS_NICE may be added.
  for (const cap of ['SYS_ADMIN', 'CAP_NET_ADMIN', 'sys_module', 'SYS_PTRACE', 'DAC_READ_SEARCH', 'SYS_RAWIO', 'BPF'])
    both(`adding ${cap}`, { capAdd: [cap] }, `${S}.cap_add[0]`);
  both('adding ALL', { capAdd: ['ALL'] }, `${S}.cap_add[0]`);
  both('adding a capability after an allowed one', { capAdd: ['SYS_NICE', 'SYS_ADMIN'] }, `${S}.cap_add[1]`);
  both('adding what is no capability', { capAdd: ['FLY'] }, `${S}.cap_add[0]`);
  both('adding and dropping the same capability', { capAdd: ['IPC_LOCK'], capDrop: ['CAP_IPC_LOCK'] }, `${S}.cap_add[0]`);
  both('a capability added twice', { capAdd: ['SYS_NICE', 'cap_sys_nice'] }, `${S}.cap_add[1]`);
  both('dropping what is no capability', { capDrop: ['NET_RAWW'] }, `${S}.cap_drop[0]`);
  both('dropping an empty name', { capDrop: [''] }, `${S}.cap_drop[0]`);
  both('too many capabilities', { capDrop: Array.from({ length: 65 }, () => 'CHOWN') }, `${S}.cap_drop`);

  // The user.
  both('a user with a space', { user: 'root user' }, `${S}.user`);
  both('a user with two colons', { user: '0:0:0' }, `${S}.user`);
  both('a uid beyond 2^31-1', { user: '4294967296' }, `${S}.user`);
  both('a user over 64 characters', { user: 'u'.repeat(65) }, `${S}.user`);

  // tmpfs mounts.
  both('a relative tmpfs path', { tmpfs: [{ path: 'run' }] }, `${S}.tmpfs[0].path`);
  both('a tmpfs without path', { tmpfs: [{ sizeBytes: 2 ** 20 }] }, `${S}.tmpfs[0].path`);
  both('a tmpfs on /', { tmpfs: [{ path: '/' }] }, `${S}.tmpfs[0].path`);
  both('a tmpfs path with ..', { tmpfs: [{ path: '/var/../etc' }] }, `${S}.tmpfs[0].path`);
  both('a tmpfs path with mount options', { tmpfs: [{ path: '/run:exec,size=1g' }] }, `${S}.tmpfs[0].path`);
  both('a tmpfs on /proc', { tmpfs: [{ path: '/proc' }] }, `${S}.tmpfs[0].path`);
  both('a tmpfs under /dev', { tmpfs: [{ path: '/dev/shm' }] }, `${S}.tmpfs[0].path`);
  both('a tmpfs path twice', { tmpfs: [{ path: '/run' }, { path: '/run' }] }, `${S}.tmpfs[1].path`);
  both('a tmpfs of 4 KiB', { tmpfs: [{ path: '/run', sizeBytes: 4096 }] }, `${S}.tmpfs[0].size_bytes`);
  both('a tmpfs over 16 GiB', { tmpfs: [{ path: '/run', sizeBytes: 17 * 2 ** 30 }] }, `${S}.tmpfs[0].size_bytes`);
  both('a negative tmpfs size', { tmpfs: [{ path: '/run', sizeBytes: -1 }] }, `${S}.tmpfs[0].size_bytes`);
  both('17 tmpfs mounts', { tmpfs: Array.from({ length: 17 }, (_, i) => ({ path: `/t${i}` })) }, `${S}.tmpfs`);

  // The spec has no words for privileged mode or the host: JSON that tries is refused, not ignored.
  r('CreateNode asking for privileged mode', 'POST', '/v1/nodes', restNode({ privileged: true }), /privileged/);
  r('CreateNode asking for the host network', 'POST', '/v1/nodes', restNode({ networkMode: 'host' }), /networkMode/);
  r('CreateNode asking for a host mount', 'POST', '/v1/nodes', restNode({ binds: ['/:/host'] }), /binds/);
  r('CreateNode with a tmpfs size that is not a number', 'POST', '/v1/nodes', restNode({ tmpfs: [{ path: '/run', sizeBytes: 'big' }] }), /tmpfs/);
  r('CreateNode with cap_add that is not a list', 'POST', '/v1/nodes', restNode({ capAdd: 'SYS_NICE' }), /cap_?[aA]dd/);

  // GPUs: this Berth (the process runtime) has none to give, so a node asking for them is refused at once.
  r('CreateNode with a GPU', 'POST', '/v1/nodes', restNode({}, { configuration: { gpu: 1 } }), undefined, Code.FAILED_PRECONDITION, 400);
  g('CreateNode with a GPU', 'createNode', grpcNode({}, { configuration: { gpu: 1 } }), undefined, Code.FAILED_PRECONDITION);
  r('UpdateNode to a GPU', 'PATCH', `/v1/nodes/${node.id}?update_mask=spec.configuration.gpu`, { spec: { configuration: { gpu: 2 } } }, undefined, Code.FAILED_PRECONDITION, 400);
  g(
    'UpdateNode to a GPU',
    'updateNode',
    UpdateNodeRequest.fromPartial({ node: { id: node.id, spec: { configuration: { gpu: 1 } } }, updateMask: ['spec.configuration.gpu'] }),
    undefined,
    Code.FAILED_PRECONDITION,
  );
  // A bad spec is told as such before the runtime is asked.
  r('CreateNode with 9 GPUs', 'POST', '/v1/nodes', restNode({}, { configuration: { gpu: 9 } }), 'node.spec.configuration.gpu');
  return out;
}

badInputSuite('bad requests around container security and GPUs', cases, 130);
